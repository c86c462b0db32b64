"""Ctrl-C and SIGTERM stop ``newsclean run`` and ``newsclean serve`` within seconds.

The first SIGINT or SIGTERM raises :class:`Interrupted` (a ``KeyboardInterrupt``) in the main
thread, so Prefect records the flow run as crashed and the command prints where things stand.
Work that cannot be interrupted (a shard cleaning in a worker thread, a runner's shutdown
waiting for a server that is gone) must not hold the process: a watchdog ends it
``GRACE_SECONDS`` after the signal whatever it is doing, with ``os._exit``. That is safe for
the dataset at any point: publishing is crash-safe by design (``tasks.output.publish``: a run killed
anywhere leaves the dataset as it was, or is completed by the next run).
"""

from __future__ import annotations

import contextlib
import os
import signal
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import NoReturn

GRACE_SECONDS = 2.0
SIGNALS = (signal.SIGINT, signal.SIGTERM)


def exit_code_for(signum: int) -> int:
    """The shell's convention: 128 + the signal's number (130 for Ctrl-C, 143 for SIGTERM)."""
    return 128 + signum


class Interrupted(KeyboardInterrupt):
    """The command was asked to stop by ``signum``."""

    def __init__(self, signum: int) -> None:
        super().__init__(signal.Signals(signum).name)
        self.signum = signum


@dataclass
class StopState:
    """Which signal asked the command to stop (``None``: none yet), and what to do then."""

    grace: float = GRACE_SECONDS
    signum: int | None = None
    cleanups: list[Callable[[], None]] = field(default_factory=list)
    # The line to print if the watchdog has to end the process (the main thread never got
    # to say it); the command clears it once it has printed its own.
    farewell: Callable[[], str] | None = None
    _watchdog: threading.Thread | None = None

    @property
    def exit_code(self) -> int:
        return exit_code_for(self.signum or signal.SIGINT)

    def arm(self, signum: int) -> None:
        """Remember the first signal and start the watchdog (once)."""
        if self.signum is None:
            self.signum = signum
        if self._watchdog is None:
            self._watchdog = threading.Thread(
                target=self._expire, name="newsclean-stop", daemon=True
            )
            self._watchdog.start()

    def handle(self, signum: int, _frame: object = None) -> NoReturn:
        """The signal handler: :meth:`arm`, then interrupt the main thread."""
        self.arm(signum)
        raise Interrupted(self.signum or signum)

    def _expire(self) -> None:
        time.sleep(self.grace)
        finish_now(self)


def finish_now(state: StopState) -> NoReturn:
    """Say the farewell line, run the cleanups (each at most once), flush, end the process."""
    if state.farewell is not None:
        with contextlib.suppress(Exception):
            print(state.farewell(), file=sys.stderr)
    while state.cleanups:
        with contextlib.suppress(Exception):
            state.cleanups.pop()()
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(Exception):
            stream.flush()
    os._exit(state.exit_code)


@contextlib.contextmanager
def stop_on_signals(grace: float = GRACE_SECONDS) -> Iterator[StopState]:
    """Within the block, SIGINT/SIGTERM raise :class:`Interrupted` and arm the watchdog.

    Outside the main thread (a test calling the CLI from a worker thread) signals cannot be
    handled, and nothing is installed. The previous handlers come back on the way out.
    """
    state = StopState(grace=grace)
    if threading.current_thread() is not threading.main_thread():
        yield state
        return
    previous = {signum: signal.signal(signum, state.handle) for signum in SIGNALS}
    try:
        yield state
    finally:
        for signum, old in previous.items():
            signal.signal(signum, old)


@contextlib.contextmanager
def prefect_sigterm_arms(state: StopState) -> Iterator[None]:
    """Arm the watchdog from the SIGTERM handler Prefect's flow engine installs, too.

    During a flow run Prefect replaces the SIGTERM handler with its own, which raises
    ``TerminationSignal`` wherever the main thread is; raised inside a ``__del__`` (asyncio
    transports) the exception is ignored and the run went on to the end, exit 0. Prefect looks
    its handler up by module attribute when it installs it, so a wrapper there sees every
    SIGTERM of the run. (prefect is pinned to 3.8; without the attribute nothing changes.)
    """
    import prefect.utilities.engine as engine  # only once the environment is set

    original = getattr(engine, "_prefect_sigterm_handler", None)
    if original is None:
        yield
        return

    def arming(sig_num: int, *args: object) -> NoReturn:
        state.arm(sig_num)
        original(sig_num, *args)
        raise AssertionError("unreachable: Prefect's handler raises")

    engine._prefect_sigterm_handler = arming
    try:
        yield
    finally:
        engine._prefect_sigterm_handler = original
