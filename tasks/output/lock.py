"""One run at a time per output folder: an exclusive ``flock`` on ``<output>/.newsclean.lock``.

A module of its own, importing nothing heavy, so that the command line takes the lock before
it starts anything (the API server, Prefect, Great Expectations): a second run refused in
well under a second, with one line, instead of after tens of seconds of start-up.
"""

from __future__ import annotations

import fcntl
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

LOCK_FILE = ".newsclean.lock"
# Output folders (real paths) whose lock a caller of :func:`hold_output_lock` in this process
# holds for the flow it is about to run.
_handed_over: set[str] = set()


class OutputBusyError(RuntimeError):
    """Another run holds the output directory's lock."""


@contextmanager
def output_lock(output: Path) -> Iterator[None]:
    """Hold an exclusive lock on ``output`` for a whole run, or fail at once.

    Two runs on one output (a scheduled run and a manual one) would otherwise interleave:
    one run's ``recover`` deletes the other's uncommitted staging folder, and both could
    publish the same new input. ``flock`` is released by the kernel when the process dies,
    so a killed run never leaves a stale lock. Within :func:`hold_output_lock` of the same
    folder the lock is already this run's, and this holds nothing more.
    """
    if os.path.realpath(output) in _handed_over:
        yield
        return
    output.mkdir(parents=True, exist_ok=True)
    with open(output / LOCK_FILE, "a+", encoding="utf-8") as handle:
        try:
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError as error:
            raise OutputBusyError(f"another newsclean run is writing to {output}") from error
        try:
            yield
        finally:
            fcntl.flock(handle.fileno(), fcntl.LOCK_UN)


@contextmanager
def hold_output_lock(output: Path) -> Iterator[None]:
    """:func:`output_lock`, taken now by the command line for the flow it then runs in this
    process (whose own :func:`output_lock` of the same folder passes through)."""
    with output_lock(output):
        real = os.path.realpath(output)
        _handed_over.add(real)
        try:
            yield
        finally:
            _handed_over.discard(real)
