"""Test environment: a throwaway Prefect home, analytics off, no user settings.

Runs before any test module imports Prefect (which reads its settings at import time).
"""

from __future__ import annotations

import atexit
import json
import os
import shutil
import tempfile
import threading
from pathlib import Path

import pytest

_HOME = Path(tempfile.mkdtemp(prefix="newsclean-test-prefect-"))
# Removed when the session ends (up to 13 MB of database and logs each). Registered before
# Prefect is imported, so it runs after Prefect's own exit hooks have stopped its server.
atexit.register(shutil.rmtree, _HOME, ignore_errors=True)
for _key in ("PREFECT_API_URL", "PREFECT_PROFILE", "PREFECT_API_KEY"):
    os.environ.pop(_key, None)
os.environ["PREFECT_HOME"] = str(_HOME)
os.environ["PREFECT_PROFILES_PATH"] = str(_HOME / "profiles.toml")

from flows.environment import configure_environment  # noqa: E402

configure_environment(prefect_home=_HOME)

REPO = Path(__file__).resolve().parent.parent
SEEDS = REPO / "seeds"
DATA = Path(__file__).resolve().parent / "data"


@pytest.fixture(scope="session")
def gold() -> list[dict]:
    lines = (DATA / "seeds_gold.jsonl").read_text(encoding="utf-8").splitlines()
    return [json.loads(line) for line in lines if line.strip()]


@pytest.fixture(scope="session")
def seeds_run(tmp_path_factory: pytest.TempPathFactory):
    """One real flow run over the seeds, shared by the tests that read its output."""
    from flows.pipeline import newsclean_flow

    output = tmp_path_factory.mktemp("seeds-output")
    result = newsclean_flow(inputs=[str(SEEDS)], output=str(output))
    return result


def finishes(call, *args) -> BaseException | object:
    """What ``call(*args)`` returned or raised, from a thread that must end within 20 s."""
    outcome: list[BaseException | object] = []

    def target() -> None:
        try:
            outcome.append(call(*args))
        except BaseException as error:
            outcome.append(error)

    worker = threading.Thread(target=target, daemon=True)
    worker.start()
    worker.join(20)
    assert not worker.is_alive(), f"{call.__name__} blocked"
    return outcome[0]
