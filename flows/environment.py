"""Process environment for Prefect and Great Expectations: offline, local, quiet.

Must run before ``prefect`` is imported: Prefect reads its settings once, at import.
"""

from __future__ import annotations

import os
from pathlib import Path

# Always off: newsclean makes no network calls of its own.
_FORCED = {
    "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
    "DO_NOT_TRACK": "1",
    "GX_ANALYTICS_ENABLED": "false",
}
# Defaults a user may override (e.g. PREFECT_API_URL to use their own server).
_DEFAULTS = {
    "PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS": "120",
    "PREFECT_LOGGING_LEVEL": "WARNING",
    "PREFECT_UI_ENABLED": "false",
}


def configure_environment(prefect_home: Path | None = None) -> None:
    """Project-local Prefect home (``./.prefect``) unless PREFECT_HOME is set; analytics off."""
    os.environ.update(_FORCED)
    os.environ.setdefault("PREFECT_HOME", str((prefect_home or Path.cwd() / ".prefect").resolve()))
    for key, value in _DEFAULTS.items():
        os.environ.setdefault(key, value)
