"""``newsclean`` command line.

* ``newsclean run [INPUT ...] [--output DIR] [--runner local|dask] [--dask-address URL] ...``
* ``newsclean serve --cron "..." [INPUT ...] [--output DIR]``: a scheduled deployment.
* ``newsclean show OUTPUT SOURCE_OR_ARTICLE_ID [--json]``: one article and its paragraphs.

* ``newsclean compact OUTPUT``: merge the published small parts (``tasks.output.compact``).

Options come from the command line, else from the config file (``flows.settings``), else
the defaults. Exit codes (README, "Exit codes"): 0 published; 1 validation failed, nothing
published; 2 usage (bad option, missing input, unwritable output, ...); 3 another run holds
the output's lock; 4 the run failed (the one-line message says what is visible and what the
next run does); 130 / 143 stopped by Ctrl-C / SIGTERM. Every refusal and failure is one line
on stderr; the traceback goes to a log file the line names, or to stderr with ``--verbose``.
"""

from __future__ import annotations

import argparse
import contextlib
import gc
import logging
import os
import shutil
import sys
import tempfile
import traceback
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, NoReturn

from flows.apiserver import run_api_server, signal_api_server, wait_until_ready
from flows.environment import configure_environment
from flows.preflight import (
    OutputBusyError,
    UsageError,
    check_dask_address,
    check_inputs,
    check_output_writable,
    hold_output_lock,
)
from flows.settings import ConfigFile, SettingsError, load_settings, merge_expectations
from flows.stopping import StopState, finish_now, prefect_sigterm_arms, stop_on_signals

EXIT_PUBLISHED = 0
EXIT_VALIDATION_FAILED = 1
EXIT_USAGE = 2
EXIT_BUSY = 3
EXIT_FAILED = 4
EXIT_INTERRUPTED = 130  # Ctrl-C (SIGINT); SIGTERM gives 143
PREFECT_DIR = ".prefect"


class _OneLineParser(argparse.ArgumentParser):
    """argparse whose refusals are one line (a :class:`UsageError`), not usage + error."""

    def error(self, message: str) -> NoReturn:
        raise UsageError(f"{self.prog}: {message} (see {self.prog} --help)")


def positive_int(text: str) -> int:
    """An integer >= 1 (``--shard-size``, ``--workers``)."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a positive integer, not {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be a positive integer, not {text!r}")
    return value


def non_empty(text: str) -> str:
    if not text.strip():
        raise argparse.ArgumentTypeError("must not be empty")
    return text


def _parser() -> argparse.ArgumentParser:
    parser = _OneLineParser(
        prog="newsclean",
        description="Clean, deduplicate and validate news articles into Parquet.",
    )
    commands = parser.add_subparsers(dest="command", required=True)
    run = commands.add_parser("run", help="process inputs and publish the dataset")
    _add_common_arguments(run)
    run.add_argument(
        "--shard-size",
        type=positive_int,
        default=None,
        help="inputs per Prefect task (default: 500)",
    )
    run.add_argument(
        "--runner",
        choices=("local", "dask"),
        default="local",
        help="local: one shard at a time in this process (default); dask: shards on Dask "
        "workers (a LocalCluster unless --dask-address is given)",
    )
    run.add_argument(
        "--dask-address",
        type=non_empty,
        default=None,
        help="scheduler of an existing Dask cluster, e.g. tcp://HOST:8786",
    )
    run.add_argument("--workers", type=positive_int, default=None, help="Dask LocalCluster workers")
    compact = commands.add_parser("compact", help="merge the output's small parts into full ones")
    compact.add_argument("output", type=non_empty, help="output directory, e.g. output/")
    compact.set_defaults(config=None)  # no config file option: compaction has no settings
    serve = commands.add_parser("serve", help="register a scheduled deployment and serve it")
    _add_common_arguments(serve)
    serve.add_argument("--cron", type=non_empty, help='cron schedule, e.g. "0 * * * *"')
    serve.add_argument(
        "--name", type=non_empty, default="newsclean-scheduled", help="deployment name"
    )
    show = commands.add_parser(
        "show", help="print one article's record and its paragraphs with their labels and reasons"
    )
    show.add_argument("output_folder", metavar="OUTPUT", help="output directory of a run")
    show.add_argument(
        "key",
        metavar="SOURCE_OR_ARTICLE_ID",
        help="the input path as given at run time (or a unique ending of it, a WARC "
        "path#offset), or an article_id (or a unique beginning of it)",
    )
    show.add_argument("--json", action="store_true", help="print JSON instead of text")
    return parser


def _add_common_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "inputs", nargs="*", default=["seeds/"], help="files or folders (default: seeds/)"
    )
    parser.add_argument(
        "--output", type=non_empty, default="output", help="output directory (default: output/)"
    )
    parser.add_argument(
        "--config",
        type=Path,
        default=None,
        help="config file (default: ./newsclean.toml, else [tool.newsclean] in ./pyproject.toml)",
    )
    parser.add_argument(
        "--expectations",
        type=non_empty,
        default=None,
        help="folder of extra expectations (<table>.json), added to the built-in suites",
    )
    parser.add_argument(
        "--verbose", action="store_true", help="print tracebacks and Prefect's own errors"
    )


def _subparsers(parser: argparse.ArgumentParser) -> dict[str, argparse.ArgumentParser]:
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            return dict(action.choices)
    return {}


def parse_arguments(argv: Sequence[str] | None) -> argparse.Namespace:
    """Command line over config file over defaults; ``args.settings`` is the file read."""
    parser = _parser()
    args = parser.parse_args(argv)
    if args.command == "show":  # reads an output only: no options of the config file
        return args
    commands = _subparsers(parser)
    actions = {
        action.dest: action
        for command in commands.values()
        for action in command._actions
        if action.dest not in ("help", "config")
    }
    settings = load_settings(args.config, Path.cwd(), actions)
    if settings.options:
        own = {action.dest for action in commands[args.command]._actions}
        commands[args.command].set_defaults(
            **{key: value for key, value in settings.options.items() if key in own}
        )
        args = parser.parse_args(argv)
    args.settings = settings
    return args


def _pipeline_config(args: argparse.Namespace, scratch: Path) -> Any:
    """The run's ``PipelineConfig``: the file's pipeline options, then the flags."""
    from flows.settings import pipeline_config

    settings: ConfigFile = args.settings
    overrides: dict[str, Any] = {}
    if args.shard_size is not None:
        overrides["shard_size"] = args.shard_size
    if args.expectations:
        overrides["expectations_dir"] = merge_expectations(Path(args.expectations), scratch)
    return pipeline_config(settings.pipeline, **overrides)


def refuse(message: str, code: int = EXIT_USAGE) -> int:
    print(f"newsclean: {message}", file=sys.stderr)
    return code


def _describe_state(output: Path) -> str:
    """What readers of ``output`` see after a run stopped early, and what the next run does."""
    staging = output / "_staging"
    committed = staging.is_dir() and any(staging.glob("*/COMMIT"))
    if committed:
        return "the run was committed and may be partly visible; the next run completes it"
    return "nothing was published, the dataset is as it was; the next run starts afresh"


def _signal_name(state: StopState) -> str:
    return "Ctrl-C" if state.exit_code == EXIT_INTERRUPTED else "SIGTERM"


def _stopped(state: StopState, output: Path) -> str:
    return f"stopped by {_signal_name(state)}: {_describe_state(output)}"


def _log_traceback(error: BaseException, output: Path) -> Path | None:
    """Write ``error``'s traceback to ``<output>/reports/`` (else the temp folder); its path."""
    text = "".join(traceback.format_exception(error))
    name = f"failed-{datetime.now(UTC):%Y%m%dT%H%M%SZ}.log"
    for path in (output / "reports" / name, Path(tempfile.gettempdir()) / f"newsclean-{name}"):
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text, encoding="utf-8")
            return path
        except OSError:
            continue
    return None


def _failed(error: BaseException, output: Path, verbose: bool) -> int:
    """Exit 4 with one line: what failed, what is visible, what the next run does."""
    from flows.pipeline import PublishFailed, one_line

    if isinstance(error, PublishFailed):
        where = str(error)
        if error.report_html is not None:
            where += f"; report: {error.report_html}"
    else:
        where = f"{one_line(error)}; {_describe_state(output)}"
    if verbose:
        traceback.print_exception(error, file=sys.stderr)
        return refuse(f"run failed: {where}", EXIT_FAILED)
    log = _log_traceback(error, output)
    hint = f" (traceback: {log})" if log else " (run with --verbose for the traceback)"
    return refuse(f"run failed: {where}{hint}", EXIT_FAILED)


class _DropErrorsAndTracebacks(logging.Filter):
    """Keep Prefect's crash reports and tracebacks off the console: the command says it in
    one line. They still reach the Prefect API (the UI shows them), and ``--verbose``."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.exc_info:
            return False
        return not (record.name.startswith("prefect") and record.levelno >= logging.ERROR)


def quiet_console() -> None:
    """Apply :class:`_DropErrorsAndTracebacks` to the console handlers Prefect installed."""
    for handler in logging.getLogger().handlers:
        if not isinstance(handler, logging.StreamHandler) or isinstance(
            handler, logging.FileHandler
        ):
            continue
        if not any(isinstance(f, _DropErrorsAndTracebacks) for f in handler.filters):
            handler.addFilter(_DropErrorsAndTracebacks())


def _flush_prefect_logs() -> None:
    """Send queued Prefect logs while the API server still answers (else, at exit, the log
    worker prints 'Error logging to API ... All connection attempts failed')."""
    handlers = sys.modules.get("prefect.logging.handlers")
    if handlers is not None:
        with contextlib.suppress(Exception):
            handlers.APILogHandler().flush()


@contextlib.contextmanager
def _api_server(home: Path, state: StopState) -> Iterator[str | None]:
    """This run's API server, stopped at the end and by the stop watchdog too."""
    with run_api_server(home) as url:
        if url is not None:
            state.cleanups.append(lambda: signal_api_server(url))
        try:
            yield url
        finally:
            _flush_prefect_logs()


def _run(args: argparse.Namespace, state: StopState) -> int:
    output = Path(args.output)
    if args.runner != "dask" and (args.workers or args.dask_address):
        return refuse("--workers and --dask-address need --runner dask")
    with contextlib.ExitStack() as held:
        try:
            check_inputs(args.inputs, output)
            check_output_writable(output)
            # The lock, taken before anything heavy starts; held until the run ends.
            held.enter_context(hold_output_lock(output))
            if args.runner == "dask" and args.dask_address:
                check_dask_address(args.dask_address)
        except UsageError as error:
            return refuse(str(error))
        except OutputBusyError as error:
            return refuse(str(error), EXIT_BUSY)
        return _start_run(args, output, state)


def _start_run(args: argparse.Namespace, output: Path, state: StopState) -> int:
    # The server first: it boots on another core while this process imports the pipeline.
    # (A config file's values were checked when it was read; what is left to check here is
    # the --expectations folder.)
    with _scratch_folder(state) as scratch:
        try:  # before the server: a bad --expectations is refused before any work
            config = _pipeline_config(args, scratch / "expectations")
        except SettingsError as error:
            return refuse(str(error))
        configure_environment(prefect_home=output / PREFECT_DIR)
        with _api_server(Path(os.environ["PREFECT_HOME"]), state) as api_url:
            return _run_flow(args, output, config, api_url, state)


@contextlib.contextmanager
def _scratch_folder(state: StopState) -> Iterator[Path]:
    """The run's scratch folder in the temp folder, removed at the end, and by the stop
    watchdog too (which ends the process without unwinding this block)."""
    with tempfile.TemporaryDirectory(prefix="newsclean-") as scratch:

        def remove() -> None:
            shutil.rmtree(scratch, ignore_errors=True)

        state.cleanups.append(remove)
        try:
            yield Path(scratch)
        finally:
            with contextlib.suppress(ValueError):
                state.cleanups.remove(remove)


def _run_flow(
    args: argparse.Namespace, output: Path, config: Any, api_url: str | None, state: StopState
) -> int:
    from prefect.exceptions import TerminationSignal

    from flows.pipeline import newsclean_flow
    from tasks.output.validate import preload_great_expectations

    if not args.verbose:
        quiet_console()
    flow = newsclean_flow
    if args.runner == "dask":
        from flows.runners import dask_task_runner

        # Prefect's stubs want a runner of PrefectFuture; DaskTaskRunner's are PrefectDaskFuture.
        flow = newsclean_flow.with_options(
            task_runner=dask_task_runner(args.dask_address, args.workers)  # type: ignore[arg-type]
        )
    preload_great_expectations()
    state.farewell = lambda: f"newsclean: {_stopped(state, output)}"
    try:
        if api_url:
            wait_until_ready(api_url)
        with prefect_sigterm_arms(state):
            result = flow(inputs=list(args.inputs), output=str(output), config=config)
    except (KeyboardInterrupt, TerminationSignal):
        state.farewell = None
        return refuse(_stopped(state, output), state.exit_code)
    except UsageError as error:
        return refuse(str(error))
    except OutputBusyError as error:
        return refuse(str(error), EXIT_BUSY)
    except Exception as error:
        if state.signum is not None:  # a library turned the interrupt into an error of its own
            state.farewell = None
            return refuse(_stopped(state, output), state.exit_code)
        return _failed(error, output, args.verbose)
    counts = result.summary.inputs
    print(
        f"run {result.run_id}: {counts['total']} inputs, {counts['published']} published, "
        f"{counts['skipped']} skipped, {counts['quarantined']} quarantined"
    )
    if result.published:
        print(f"articles:   {result.output / 'articles'}")
        print(f"paragraphs: {result.output / 'paragraphs'}")
    print(f"report:     {result.report_html}")
    print(f"data docs:  {result.data_docs}")
    if not result.validation_success:
        failures: list[dict[str, object]] = result.summary.validation["failures"]  # type: ignore[assignment]
        print(f"validation FAILED ({len(failures)} expectations); nothing published:")
        for failure in failures:
            print(
                f"  {failure['suite']}: {failure['expectation']} on {failure['column']} "
                f"({failure['unexpected_count']} unexpected)"
            )
        return EXIT_VALIDATION_FAILED
    return EXIT_PUBLISHED


def _serve(args: argparse.Namespace, state: StopState) -> int:
    from flows.settings import config_parameter, run_config

    if not args.cron:
        return refuse("newsclean serve: --cron is required (or cron in the config file)")
    config = config_parameter(args.settings.pipeline, args.expectations)
    try:
        check_inputs(args.inputs, Path(args.output))
        with run_config(config):  # refuse a bad --expectations now, not at the first run
            pass
    except (UsageError, SettingsError) as error:
        return refuse(str(error))
    configure_environment(prefect_home=Path(args.output) / PREFECT_DIR)
    from flows.serve import ServeError, serve, terminate_children

    if not args.verbose:
        quiet_console()
    try:
        state.cleanups.append(terminate_children)
        state.farewell = lambda: f"newsclean: serve stopped by {_signal_name(state)}"
        # A signal while serving is handled by serve itself (it cancels the run in progress
        # in Prefect, then stops); the watchdog only ends a stop that hangs.
        state.grace = SERVE_STOP_GRACE_SECONDS
        stopped_by = serve(
            inputs=list(args.inputs),
            output=args.output,
            cron=args.cron,
            name=args.name,
            on_signal=state.arm,
            config=config or None,
        )
    except ServeError as error:
        return refuse(str(error))
    if stopped_by is not None:
        state.farewell = None
        return refuse(f"serve stopped by {_signal_name(state)}", state.exit_code)
    return EXIT_PUBLISHED


SERVE_STOP_GRACE_SECONDS = 15.0


class _StderrHandler(logging.StreamHandler):  # type: ignore[type-arg]
    """A stream handler writing to whatever ``sys.stderr`` is when a line is logged (a caller
    that swaps stderr, such as a test capturing it, would otherwise leave it a closed file)."""

    @property
    def stream(self) -> Any:
        return sys.stderr

    @stream.setter
    def stream(self, _value: object) -> None:
        pass


def show_progress() -> None:
    """Progress lines (files read, articles cleaned, stages) on stderr."""
    logger = logging.getLogger("newsclean")
    if not logger.handlers:
        handler = _StderrHandler()
        handler.setFormatter(logging.Formatter("%(asctime)s newsclean: %(message)s", "%H:%M:%S"))
        logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    logger.propagate = False  # Prefect's console handler would print each line again


class _ReaderMayLeave:
    """``sys.stdout`` or ``sys.stderr`` that outlives its reader: once the pipe it writes to
    is closed (``newsclean run ... | head -1``), what is written goes nowhere instead of
    raising ``BrokenPipeError`` in the middle of the run, whose outcome and exit code must
    not depend on whether anyone reads its output."""

    def __init__(self, stream: Any) -> None:
        self.stream = stream
        self.reader_left = False

    def write(self, text: str) -> int:
        if not self.reader_left:
            try:
                return int(self.stream.write(text))
            except BrokenPipeError:
                self._reader_gone()
        return len(text)

    def flush(self) -> None:
        if not self.reader_left:
            try:
                self.stream.flush()
            except BrokenPipeError:
                self._reader_gone()

    def _reader_gone(self) -> None:
        """Point the descriptor at /dev/null: the interpreter's own last flush at exit (of
        ``sys.__stdout__``) would otherwise fail and turn the exit code into 120."""
        self.reader_left = True
        with contextlib.suppress(Exception):
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, self.stream.fileno())
            os.close(devnull)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.stream, name)


@contextlib.contextmanager
def _readers_may_leave() -> Iterator[None]:
    """:class:`_ReaderMayLeave` on stdout and stderr for the length of the block."""
    before = sys.stdout, sys.stderr
    sys.stdout, sys.stderr = _ReaderMayLeave(sys.stdout), _ReaderMayLeave(sys.stderr)
    try:
        yield
    finally:
        sys.stdout, sys.stderr = before


def main(argv: Sequence[str] | None = None) -> int:
    with stop_on_signals() as state, _readers_may_leave():
        try:
            args = parse_arguments(argv)
        except (UsageError, SettingsError) as error:
            return refuse(str(error))
        if args.command == "show":
            return _show(args)
        show_progress()
        try:
            if args.command == "serve":
                return _serve(args, state)
            if args.command == "compact":
                return _compact(Path(args.output))
            return _run(args, state)
        except KeyboardInterrupt:  # stopped outside the flow (imports, start-up, serving)
            return _stopped_command(args, state)
        except Exception:
            # A stop signal can reach the main thread inside a library that turns it into an
            # error of its own: pydantic wraps it in PydanticSerializationError while Prefect
            # imports its settings. After a signal, that is a stop, not a failure.
            if state.signum is None:
                raise
            return _stopped_command(args, state)


def _show(args: argparse.Namespace) -> int:
    """``newsclean show``: reads the published Parquet only (no Prefect, no lock)."""
    from flows.show import ShowError, find, render_json, render_text, terminal_width

    try:
        shown = find(Path(args.output_folder), args.key)
    except ShowError as error:
        return refuse(str(error))
    try:
        sys.stdout.write(render_json(shown) if args.json else render_text(shown, terminal_width()))
        sys.stdout.flush()
    except BrokenPipeError:  # the reader had enough (`| head`): not an error of ours
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
    return 0


def _compact(output: Path) -> int:
    """``newsclean compact OUTPUT``: compaction on demand, under the runs' lock."""
    from tasks.output.compact import compact, describe
    from tasks.output.publish import OutputBusyError, output_lock

    if not (output / "articles").is_dir():
        return refuse(f"{output} holds no published dataset")
    try:
        with output_lock(output):
            print(f"{output}: {describe(compact(output))}")
    except OutputBusyError as error:
        return refuse(str(error), EXIT_BUSY)
    return EXIT_PUBLISHED


def _stopped_command(args: argparse.Namespace, state: StopState) -> int:
    """Say that the command stopped, and why, in one line; the signal's exit code."""
    state.farewell = None
    if args.command == "serve":
        return refuse(f"serve stopped by {_signal_name(state)}", state.exit_code)
    return refuse(_stopped(state, Path(args.output)), state.exit_code)


def entry() -> None:
    """The ``newsclean`` command: ``main``, then exit without the final garbage collections.

    By the end of a run the heap holds every module imported (Prefect, Great Expectations,
    pandas, ...), and CPython's shutdown runs full collections over it several times: ~1.4 s
    of the seeds' ~10 s. ``gc.freeze()`` puts those objects out of the collector's reach;
    the process exits all the same and the OS takes the memory back. A stopped run ends at
    once: a shard still cleaning in a worker thread would otherwise hold the exit until done.
    """
    code = main()
    gc.freeze()
    if code >= 128:
        finish_now(StopState(signum=code - 128))
    sys.exit(code)


if __name__ == "__main__":
    entry()
