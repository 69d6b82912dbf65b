"""The three servers started once for all end-to-end tests, on test ports, with a temporary database.

Needs a trained model in models/ (`make test` trains first). Ports: E2E_RASA_PORT, E2E_ACTION_PORT,
E2E_WEB_PORT, E2E_WECHAT_API_PORT (free ports by default) so a running `make run` or another test run is not disturbed.
"""

from __future__ import annotations

import json
import os
import socket
import sys
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Dict, List

import pytest

from scripts.stack import ROOT, Stack, isolated_environment


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


# Free ports unless set, so two test runs on one machine (or a running `make run`) never collide.
for _name in ("E2E_RASA_PORT", "E2E_ACTION_PORT", "E2E_WEB_PORT", "E2E_WECHAT_API_PORT"):
    os.environ.setdefault(_name, str(_free_port()))

# The WeChat channel switched on (safe mode available), its API pointed at a local stand-in that tests start on
# E2E_WECHAT_API_PORT when they need it (tests/utils/wechat.py, StandInWeChatAPI).
E2E_WECHAT_ENV = {
    "WECHAT_TOKEN": "e2e-wechat-token-5Kp8",
    "WECHAT_APPID": "wxe2e0000000000001",
    "WECHAT_APPSECRET": "e2e-wechat-app-secret-3Jd9",
    "WECHAT_AES_KEY": "Zt4nW8qB2xR6vL0cY3mK7pH1fD5sJ9aE2gU6iO8wQ4e",
    "WECHAT_API_BASE": f"http://127.0.0.1:{os.environ.get('E2E_WECHAT_API_PORT', '15099')}",
}


# Every test talks from 127.0.0.1, so the per-address limit is off here (tests/unit/test_channel_guard.py checks
# it); the per-sender limit is the default's order, so tests/e2e/test_security_e2e.py can reach it.
E2E_LIMITS = {"THROTTLE_ADDRESS_PER_MINUTE": "0", "THROTTLE_SENDER_PER_MINUTE": "30", "ACTION_TIMEOUT": "5",
              "DB_BUSY_TIMEOUT": "2"}


@dataclass
class RunningBot:
    stack: Stack
    env: Dict[str, str]
    log_dir: Path
    startup_seconds: float

    @property
    def rasa_url(self) -> str:
        return f"http://127.0.0.1:{self.env['RASA_PORT']}"

    @property
    def web_url(self) -> str:
        return f"http://127.0.0.1:{self.env['WEB_PORT']}"

    def say(self, sender: str, text: str, timeout: float = 30) -> List[Dict[str, Any]]:
        """POST one message on the REST channel and return the bot's messages."""
        body = json.dumps({"sender": sender, "message": text}).encode("utf-8")
        request = urllib.request.Request(
            f"{self.rasa_url}/webhooks/rest/webhook", data=body, headers={"Content-Type": "application/json"}
        )
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return json.loads(response.read().decode("utf-8"))

    def texts(self, sender: str, text: str) -> str:
        return "\n".join(m.get("text", "") for m in self.say(sender, text))


@pytest.fixture(scope="session")
def running_bot(tmp_path_factory: pytest.TempPathFactory):
    if not any((ROOT / "models").glob("*.tar.gz")):
        pytest.fail("No trained model in models/: run `make train` (make test does it first).")
    work = tmp_path_factory.mktemp("e2e")
    ports = {name: os.environ[f"E2E_{name}"] for name in ("RASA_PORT", "ACTION_PORT", "WEB_PORT")}
    env = isolated_environment(
        work,
        ports,
        {"CONSOLE_ADMIN_USER": "admin", "CONSOLE_ADMIN_PASSWORD": "e2e-admin-password-123", **E2E_WECHAT_ENV,
         **E2E_LIMITS},
    )
    # supervised as in `make run`: the fault tests kill and freeze servers and wait for them to come back
    stack = Stack(env, log_dir=work / "logs", supervise=True).start()
    try:
        seconds = stack.wait_ready(timeout=240)
    except Exception:
        stack.stop()
        for log in sorted((work / "logs").glob("*.log")):
            sys.stderr.write(f"--- {log.name} ---\n{log.read_text(errors='replace')[-3000:]}\n")
        raise
    yield RunningBot(stack=stack, env=env, log_dir=work / "logs", startup_seconds=seconds)
    stack.stop()
