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


def user_cache_home() -> Path:
    """newsclean's Prefect home when no output folder is given: ``$XDG_CACHE_HOME/newsclean``
    (``~/.cache/newsclean``), never the folder the command happens to run from."""
    cache = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(cache) / "newsclean" / "prefect"


def configure_environment(prefect_home: Path | None = None) -> None:
    """Prefect's home at ``prefect_home`` (the CLI passes ``<output>/.prefect``), else in the
    user's cache folder, unless PREFECT_HOME is set; analytics off.

    Prefect's database and logs there describe that output folder's runs; before, they went
    to ``./.prefect`` in whatever folder the command was run from.
    """
    os.environ.update(_FORCED)
    home = prefect_home or user_cache_home()
    os.environ.setdefault("PREFECT_HOME", str(home.resolve()))
    for key, value in _DEFAULTS.items():
        os.environ.setdefault(key, value)
