"""The scaled stack (scripts/scaled.py) started once for every test in tests/scaled: real PostgreSQL, Redis and
nginx, two Rasa workers, a two-worker action server. Tests that stop a part of it bring it back before they end,
so the order of the tests does not matter."""

from __future__ import annotations

import os

import pytest

from scripts.scaled import ScaledStack, free_port, missing_packages
from scripts.stack import ROOT
from tests.scaled.helpers import WECHAT


@pytest.fixture(scope="session")
def scaled(tmp_path_factory: pytest.TempPathFactory):
    missing = missing_packages()
    if missing:
        pytest.skip(f"scaled stack: Debian packages missing and not installable here ({', '.join(missing)}); "
                    "`make test` installs them with scripts/ensure_scaled_deps.sh")
    if not any((ROOT / "models").glob("*.tar.gz")):
        pytest.fail("No trained model in models/: run `make train`.")
    work = tmp_path_factory.mktemp("scaled")
    ports = {"RASA_PORT": str(free_port()), "ACTION_PORT": str(free_port()), "WEB_PORT": str(free_port())}
    saved = {k: os.environ.get(k) for k in WECHAT}
    os.environ.update(WECHAT)
    try:
        stack = ScaledStack.for_benchmark(work, ports, workers=2)
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
    try:
        stack.start()
        stack.wait_ready(timeout=400)
        yield stack
    finally:
        stack.stop()  # also after a failed start: nothing is left running
