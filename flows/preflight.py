"""Checks the command line makes before it starts a flow, each failing with one clear line.

A missing input, an input inside the output folder, an output folder that cannot be written,
a lock held by another run or a Dask scheduler nobody answers at: found here in milliseconds,
they are one line and an exit code instead of a Prefect flow run that crashes with a traceback
(and, before this, tens of seconds of server start-up). The flow checks the inputs again
(:func:`check_inputs`), for callers that do not come through the command line.
"""

from __future__ import annotations

import errno
import os
import socket
import tempfile
from collections.abc import Iterable
from pathlib import Path

# The output folder's lock (a module that imports nothing heavy): the command line takes it
# before anything else.
from tasks.output.lock import LOCK_FILE as LOCK_FILE
from tasks.output.lock import OutputBusyError as OutputBusyError
from tasks.output.lock import hold_output_lock as hold_output_lock

DASK_CONNECT_TIMEOUT_SECONDS = 5.0


class UsageError(ValueError):
    """The command cannot run as asked (exit 2); the message is one line."""


def is_within(path: Path, folder: Path) -> bool:
    """``path`` is ``folder`` or inside it, both compared as resolved real paths."""
    real, root = Path(os.path.realpath(path)), Path(os.path.realpath(folder))
    return real == root or root in real.parents


def check_inputs(inputs: Iterable[str], output: Path) -> None:
    """Every input exists and none is the output folder or inside it.

    An input folder that *contains* the output is fine: discovery leaves the output out.
    """
    for given in inputs:
        path = Path(given)
        if not path.exists():
            kind = "a broken symlink" if path.is_symlink() else "not found"
            raise UsageError(f"input {kind}: {given}")
        if is_within(path, output):
            raise UsageError(
                f"input {given} is inside the output folder {output}: "
                "give inputs outside it (a run never reads its own output)"
            )


def check_output_writable(output: Path) -> None:
    """The output folder exists (created if need be) and a file can be created in it."""
    try:
        output.mkdir(parents=True, exist_ok=True)
    except FileExistsError as error:
        raise UsageError(f"output {output} exists and is not a folder") from error
    except OSError as error:
        raise UsageError(f"cannot create the output folder {output}: {error.strerror}") from error
    if not output.is_dir():
        raise UsageError(f"output {output} exists and is not a folder")
    try:
        with tempfile.TemporaryFile(dir=output):
            pass
    except OSError as error:
        reason = "read-only" if error.errno in (errno.EROFS, errno.EACCES, errno.EPERM) else ""
        detail = error.strerror or str(error)
        raise UsageError(
            f"the output folder {output} is not writable ({reason or detail}): "
            "give a folder you can write to with --output"
        ) from error


def check_dask_address(address: str, timeout: float = DASK_CONNECT_TIMEOUT_SECONDS) -> None:
    """A TCP scheduler address answers a connection within ``timeout`` seconds.

    Without this an unreachable ``--dask-address`` failed after Dask's 30 s connect timeout,
    inside the flow, with a traceback. Other protocols (``tls://``, ``ucx://``) are left to
    Dask.
    """
    scheme, _, rest = address.rpartition("://")
    if scheme not in ("", "tcp"):
        return
    host, _, port = rest.rpartition(":")
    if not host or not port.isdigit():
        raise UsageError(f"--dask-address {address!r} is not of the form tcp://HOST:PORT")
    try:
        with socket.create_connection((host.strip("[]"), int(port)), timeout=timeout):
            pass
    except OSError as error:
        reason = error.strerror or str(error) or type(error).__name__
        raise UsageError(f"cannot reach the Dask scheduler at {address}: {reason}") from error
