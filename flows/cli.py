"""``newsclean`` command line.

* ``newsclean run [INPUT ...] [--output DIR] [--runner local|dask] [--dask-address URL]``
* ``newsclean serve --cron "..." [INPUT ...] [--output DIR]``: a scheduled deployment.
"""

from __future__ import annotations

import argparse
import gc
import logging
import os
import sys
from collections.abc import Sequence
from pathlib import Path

from flows.apiserver import run_api_server, wait_until_ready
from flows.environment import configure_environment

EXIT_VALIDATION_FAILED = 1
EXIT_USAGE = 2
EXIT_BUSY = 3


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="newsclean",
        description="Clean, deduplicate and validate news articles into Parquet.",
    )
    commands = parser.add_subparsers(dest="command", required=True)
    run = commands.add_parser("run", help="process inputs and publish the dataset")
    _add_io_arguments(run)
    run.add_argument(
        "--shard-size", type=int, default=None, help="inputs per Prefect task (default: 500)"
    )
    run.add_argument(
        "--runner",
        choices=("local", "dask"),
        default="local",
        help="local threads, or Dask (a LocalCluster unless --dask-address is given)",
    )
    run.add_argument("--dask-address", default=None, help="scheduler of an existing Dask cluster")
    run.add_argument("--workers", type=int, default=None, help="Dask LocalCluster workers")
    serve = commands.add_parser("serve", help="register a scheduled deployment and serve it")
    _add_io_arguments(serve)
    serve.add_argument("--cron", required=True, help='cron schedule, e.g. "0 * * * *"')
    serve.add_argument("--name", default="newsclean-scheduled", help="deployment name")
    return parser


def _add_io_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "inputs", nargs="*", default=["seeds/"], help="files or folders (default: seeds/)"
    )
    parser.add_argument("--output", default="output", help="output directory (default: output/)")


def _run(args: argparse.Namespace, api_url: str | None) -> int:
    from flows.pipeline import newsclean_flow
    from tasks.config import PipelineConfig

    config = PipelineConfig()
    if args.shard_size:
        config = PipelineConfig(shard_size=args.shard_size)
    flow = newsclean_flow
    if args.runner == "dask":
        from flows.runners import dask_task_runner

        # Prefect's stubs want a runner of PrefectFuture; DaskTaskRunner's are PrefectDaskFuture.
        flow = newsclean_flow.with_options(
            task_runner=dask_task_runner(args.dask_address, args.workers)  # type: ignore[arg-type]
        )
    from tasks.publish import OutputBusyError
    from tasks.validate import preload_great_expectations

    preload_great_expectations()
    if api_url:
        wait_until_ready(api_url)
    try:
        result = flow(inputs=list(args.inputs), output=args.output, config=config)
    except FileNotFoundError as error:
        print(f"newsclean: {error}", file=sys.stderr)
        return EXIT_USAGE
    except OutputBusyError as error:
        print(f"newsclean: {error}", file=sys.stderr)
        return EXIT_BUSY
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
        failures = result.summary.validation["failures"]
        print(f"validation FAILED ({len(failures)} expectations); nothing published:")
        for failure in failures:
            print(
                f"  {failure['suite']}: {failure['expectation']} on {failure['column']} "
                f"({failure['unexpected_count']} unexpected)"
            )
        return EXIT_VALIDATION_FAILED
    return 0


def _serve(args: argparse.Namespace) -> int:
    from flows.serve import ServeError, serve

    try:
        serve(inputs=list(args.inputs), output=args.output, cron=args.cron, name=args.name)
    except ServeError as error:
        print(f"newsclean: {error}", file=sys.stderr)
        return EXIT_USAGE
    return 0


def show_progress() -> None:
    """Progress lines (files read, articles cleaned, stages) on stderr."""
    logger = logging.getLogger("newsclean")
    if not logger.handlers:
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter("%(asctime)s newsclean: %(message)s", "%H:%M:%S"))
        logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    logger.propagate = False  # Prefect's console handler would print each line again


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    configure_environment()
    show_progress()
    if args.command == "serve":
        return _serve(args)
    if args.runner != "dask" and (args.workers or args.dask_address):
        print("newsclean: --workers and --dask-address need --runner dask", file=sys.stderr)
        return EXIT_USAGE
    # This run's API server boots while the flow's modules are imported (flows.apiserver).
    with run_api_server(Path(os.environ["PREFECT_HOME"])) as api_url:
        return _run(args, api_url)


def entry() -> None:
    """The ``newsclean`` command: ``main``, then exit without the final garbage collections.

    By the end of a run the heap holds every module imported (Prefect, Great Expectations,
    pandas, ...), and CPython's shutdown runs full collections over it several times: ~1.4 s
    of the seeds' ~10 s. ``gc.freeze()`` puts those objects out of the collector's reach;
    the process exits all the same and the OS takes the memory back.
    """
    code = main()
    gc.freeze()
    sys.exit(code)


if __name__ == "__main__":
    entry()
