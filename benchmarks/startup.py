"""Where a small run's start-up goes, and a checkout against another, alternating (issue #27).

    python -m benchmarks.startup                          # this checkout only
    python -m benchmarks.startup --baseline /work/main    # and main's, alternating
    python -m benchmarks.startup --repeats 5 --importtime

Each checkout runs its own ``.venv/bin/newsclean`` from its own folder, on the seeds:

* ``lock refusal``: wall time of ``newsclean run`` while another process holds the output's
  lock (exit 3 expected), and the lines it printed;
* ``second run``: wall time of ``newsclean run seeds/ --output OUT`` when OUT already holds a
  run of the seeds (what a second ``make run`` does: every seed is skipped as published);
* ``server boot``: seconds from starting the run's API server (``flows.apiserver``) to its
  first healthy answer, measured on its own;
* ``--importtime``: the heaviest top-level imports of ``import flows.cli`` and of
  ``import flows.pipeline`` (``python -X importtime``, cumulative microseconds).

Variants alternate within each repeat (A B, B A, ...) so a change in the machine's load hits
both; the table gives each variant's median and the ratio of medians with a bootstrap 95 %
interval over the repeats.
"""

from __future__ import annotations

import argparse
import fcntl
import os
import random
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
LOCK_FILE = ".newsclean.lock"


def _env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PREFECT_")}
    env["DO_NOT_TRACK"] = "1"
    return env


# CPU seconds (user + system) of the last command and its children (the API server too): on a
# shared machine wall time follows the load, CPU time much less.
CPU: dict[str, float] = {}


def _cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _timed(command: list[str], cwd: Path) -> tuple[float, int, str]:
    start, cpu = time.perf_counter(), _cpu_seconds()
    done = subprocess.run(command, cwd=cwd, env=_env(), capture_output=True, text=True)
    CPU["last"] = _cpu_seconds() - cpu
    return time.perf_counter() - start, done.returncode, done.stdout + done.stderr


def lock_refusal(checkout: Path, scratch: Path) -> tuple[float, str]:
    output = scratch / "locked"
    output.mkdir(parents=True, exist_ok=True)
    with open(output / LOCK_FILE, "a+") as handle:
        fcntl.flock(handle.fileno(), fcntl.LOCK_EX)
        seconds, code, text = _timed(
            [str(checkout / ".venv/bin/newsclean"), "run", "seeds/", "--output", str(output)],
            checkout,
        )
    assert code == 3, f"{checkout}: lock refusal exited {code}:\n{text[-2000:]}"
    return seconds, text


def refusal_while_starting(checkout: Path, scratch: Path) -> tuple[float, str]:
    """A second run started a second after a first one (both on a fresh output folder):
    before, the first took the lock only once its flow started (after the server's boot), so
    the second passed the lock probe and went through the whole start-up before its refusal.
    The first run is stopped (SIGTERM) once the second has ended."""
    output = scratch / "starting"
    shutil.rmtree(output, ignore_errors=True)
    command = [str(checkout / ".venv/bin/newsclean"), "run", "seeds/", "--output", str(output)]
    first = subprocess.Popen(
        command, cwd=checkout, env=_env(), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    try:
        time.sleep(1.0)
        seconds, code, text = _timed(command, checkout)
    finally:
        first.terminate()
        first.wait()
    return seconds, f"exit {code}:\n{text}"


def second_run(checkout: Path, scratch: Path) -> tuple[float, str]:
    output = scratch / "second"
    command = [str(checkout / ".venv/bin/newsclean"), "run", "seeds/", "--output", str(output)]
    if not (output / "articles").is_dir():
        _, code, text = _timed(command, checkout)
        assert code == 0, f"{checkout}: first run exited {code}:\n{text[-2000:]}"
    seconds, code, text = _timed(command, checkout)
    assert code == 0, f"{checkout}: second run exited {code}:\n{text[-2000:]}"
    return seconds, text


def server_boot(checkout: Path, scratch: Path) -> tuple[float, str]:
    code = (
        "import sys, time; from pathlib import Path;"
        "from flows.apiserver import run_api_server, wait_until_ready;"
        "start = time.perf_counter();"
        "server = run_api_server(Path(sys.argv[1]));"
        "url = server.__enter__(); wait_until_ready(url);"
        "print(time.perf_counter() - start); server.__exit__(None, None, None)"
    )
    home = scratch / "home"
    done = subprocess.run(
        [str(checkout / ".venv/bin/python"), "-c", code, str(home)],
        cwd=checkout,
        env=_env(),
        capture_output=True,
        text=True,
        check=True,
    )
    return float(done.stdout.strip().splitlines()[-1]), ""


def import_times(checkout: Path, module: str, top: int = 12) -> list[tuple[int, str]]:
    """The heaviest imports of ``module`` (cumulative us, name), top-level packages only."""
    done = subprocess.run(
        [str(checkout / ".venv/bin/python"), "-X", "importtime", "-c", f"import {module}"],
        cwd=checkout,
        env=_env(),
        capture_output=True,
        text=True,
        check=True,
    )
    rows, total = [], 0
    for line in done.stderr.splitlines():
        if not line.startswith("import time:") or "cumulative" in line:
            continue
        _self_us, cumulative, name = line.removeprefix("import time:").split("|")
        depth = (len(name) - len(name.lstrip()) - 1) // 2
        if name.strip() == module and depth == 0:
            total = int(cumulative)
        elif depth == 1:  # imported by ``module`` itself (its own imports are nested deeper)
            rows.append((int(cumulative), name.strip()))
    rows.sort(reverse=True)
    return [(total, f"{module} (in all)"), *rows[:top]]


def _ratio_interval(a: list[float], b: list[float], rounds: int = 2000) -> tuple[float, float]:
    rng = random.Random(27)
    ratios = []
    for _ in range(rounds):
        pick = [rng.randrange(len(a)) for _ in a]
        ratios.append(statistics.median(b[i] for i in pick) / statistics.median(a[i] for i in pick))
    ratios.sort()
    return ratios[int(0.025 * rounds)], ratios[int(0.975 * rounds) - 1]


MEASURES: dict[str, Callable[[Path, Path], tuple[float, str]]] = {
    "lock refusal": lock_refusal,
    "refusal (start)": refusal_while_starting,
    "second run": second_run,
    "server boot": server_boot,
}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--baseline", type=Path, help="another checkout with its own .venv")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--importtime", action="store_true")
    parser.add_argument("--only", choices=sorted(MEASURES), action="append")
    args = parser.parse_args(argv)
    variants = {"this": REPO}
    if args.baseline:
        variants = {"baseline": args.baseline.resolve(), "this": REPO}
    measures = {name: MEASURES[name] for name in (args.only or MEASURES)}
    seconds: dict[tuple[str, str], list[float]] = {}
    samples: dict[tuple[str, str], str] = {}
    with tempfile.TemporaryDirectory(prefix="newsclean-startup-") as scratch:
        for repeat in range(args.repeats):
            order = list(variants.items())
            if repeat % 2:
                order.reverse()
            for measure, run in measures.items():
                for label, checkout in order:
                    folder = Path(scratch) / label
                    CPU.pop("last", None)
                    took, text = run(checkout, folder)
                    seconds.setdefault((measure, label), []).append(took)
                    if "last" in CPU:
                        seconds.setdefault((f"{measure} (CPU)", label), []).append(CPU["last"])
                    samples[(measure, label)] = text
                    print(f"  {measure:13} {label:9} {took:6.2f} s", file=sys.stderr, flush=True)
            shutil.rmtree(Path(scratch) / "home", ignore_errors=True)
    print(f"\n{'measure':20} " + " ".join(f"{label:>16}" for label in variants) + "   ratio [95 %]")
    rows = [name for measure in measures for name in (measure, f"{measure} (CPU)")]
    for measure in [name for name in rows if (name, "this") in seconds]:
        cells = []
        for label in variants:
            values = seconds[(measure, label)]
            cells.append(f"{statistics.median(values):7.2f} s (n={len(values)})")
        line = f"{measure:20} " + " ".join(f"{cell:>16}" for cell in cells)
        if args.baseline:
            base, this = seconds[(measure, "baseline")], seconds[(measure, "this")]
            low, high = _ratio_interval(base, this)
            ratio = statistics.median(this) / statistics.median(base)
            line += f"   {ratio:.2f} [{low:.2f}, {high:.2f}]"
        print(line)
    for label in variants:
        for measure in ("lock refusal", "refusal (start)"):
            if measure in measures:
                text = samples[(measure, label)].strip()
                print(f"\n{measure} output ({label}, last run, {len(text.splitlines())} lines):")
                print(text[-1500:])
    if args.importtime:
        for label, checkout in variants.items():
            for module in ("flows.cli", "flows.pipeline"):
                print(f"\nimport time, {label}: {module}")
                for us, name in import_times(checkout, module):
                    print(f"  {us / 1e6:6.2f} s  {name}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
