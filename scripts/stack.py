"""Start and stop the three servers together: Rasa (5005), the action server (5055) and the web app (8000).

Used by `make run` (scripts/run.py), by the end-to-end tests and by the benchmark, so all three start the
servers the same way. Ports come from RASA_PORT, ACTION_PORT and WEB_PORT.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Dict, List, Optional

ROOT = Path(__file__).resolve().parent.parent
VENV_BIN = Path(sys.executable).parent


def load_dotenv(path: Path = ROOT / ".env") -> Dict[str, str]:
    """KEY=VALUE lines of .env (if present); the real environment wins."""
    values: Dict[str, str] = {}
    if path.exists():
        for line in path.read_text(encoding="utf-8").splitlines():
            line = line.strip()
            if line and not line.startswith("#") and "=" in line:
                key, _, value = line.partition("=")
                values[key.strip()] = value.strip().strip('"').strip("'")
    return values


def stack_environment(overrides: Optional[Dict[str, str]] = None) -> Dict[str, str]:
    env = {**load_dotenv(), **os.environ, **(overrides or {})}
    env.setdefault("RASA_PORT", "5005")
    env.setdefault("ACTION_PORT", "5055")
    env.setdefault("WEB_PORT", "8000")
    env.setdefault("ACTION_ENDPOINT_URL", f"http://127.0.0.1:{env['ACTION_PORT']}/webhook")
    env.setdefault("RASA_URL", f"http://127.0.0.1:{env['RASA_PORT']}")
    env.setdefault("TRACKER_DB", str(ROOT / "var" / "rasa_tracker.db"))
    env["RASA_TELEMETRY_ENABLED"] = "false"
    env.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    env.setdefault("PYTHONUNBUFFERED", "1")
    env["PYTHONPATH"] = str(ROOT) + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
    (ROOT / "var").mkdir(exist_ok=True)
    return env


def isolated_environment(work: Path, ports: Dict[str, str], extra: Optional[Dict[str, str]] = None) -> Dict[str, str]:
    """Servers on their own ports with their own database and tracker store under ``work`` (tests, benchmark);
    the database is created and seeded as `make db` does."""
    env = stack_environment(
        {
            **ports,
            "DATABASE_URL": f"sqlite:///{work / 'hzbot.db'}",
            "TRACKER_DB": str(work / "tracker.db"),
            **(extra or {}),
        }
    )
    env["ACTION_ENDPOINT_URL"] = f"http://127.0.0.1:{env['ACTION_PORT']}/webhook"
    env["RASA_URL"] = f"http://127.0.0.1:{env['RASA_PORT']}"
    subprocess.run([sys.executable, "-m", "core.setup_db"], cwd=ROOT, env=env, check=True, capture_output=True)
    return env


def server_commands(env: Dict[str, str], model: str = "models") -> Dict[str, List[str]]:
    rasa = [
        str(VENV_BIN / "rasa"), "run",
        "--model", model,
        "--endpoints", "endpoints.yml",
        "--credentials", "credentials.yml",
        "--port", env["RASA_PORT"],
        "--interface", env.get("RASA_INTERFACE", "127.0.0.1"),
        "--cors", f"http://localhost:{env['WEB_PORT']}", f"http://127.0.0.1:{env['WEB_PORT']}",
    ]
    if env.get("RASA_API_TOKEN"):
        rasa += ["--enable-api", "--auth-token", env["RASA_API_TOKEN"]]
    commands = {
        "actions": [str(VENV_BIN / "python"), "-m", "rasa_sdk", "--actions", "actions", "--port", env["ACTION_PORT"]],
        "rasa": rasa,
    }
    if (ROOT / "webapp" / "__main__.py").exists():
        commands["web"] = [str(VENV_BIN / "python"), "-m", "webapp"]
    return commands


def _ready(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2) as response:
            return response.status < 500
    except Exception:  # noqa: BLE001 - not up yet
        return False


@dataclass
class Stack:
    env: Dict[str, str]
    processes: Dict[str, subprocess.Popen] = field(default_factory=dict)
    log_dir: Optional[Path] = None

    def health_urls(self) -> Dict[str, str]:
        urls = {
            "actions": f"http://127.0.0.1:{self.env['ACTION_PORT']}/health",
            "rasa": f"http://127.0.0.1:{self.env['RASA_PORT']}/",
        }
        if "web" in self.processes:
            urls["web"] = f"http://127.0.0.1:{self.env['WEB_PORT']}/healthz"
        return urls

    def start(self, model: str = "models") -> Stack:
        for name, command in server_commands(self.env, model).items():
            output = None
            if self.log_dir is not None:
                self.log_dir.mkdir(parents=True, exist_ok=True)
                output = open(self.log_dir / f"{name}.log", "ab")  # noqa: SIM115 - closed with the process
            self.processes[name] = subprocess.Popen(
                command, cwd=ROOT, env=self.env, stdout=output, stderr=subprocess.STDOUT if output else None,
                start_new_session=True,
            )
        return self

    def wait_ready(self, timeout: float = 180.0) -> float:
        """Seconds until every server answers; raises if one dies or the time runs out."""
        started = time.monotonic()
        pending = dict(self.health_urls())
        while pending:
            for name, process in self.processes.items():
                if process.poll() is not None:
                    raise RuntimeError(f"{name} server exited with code {process.returncode}")
            for name, url in list(pending.items()):
                if _ready(url):
                    pending.pop(name)
            if time.monotonic() - started > timeout:
                raise TimeoutError(f"not ready after {timeout:.0f} s: {', '.join(pending)}")
            if pending:
                time.sleep(0.5)
        return time.monotonic() - started

    def stop(self) -> None:
        for process in self.processes.values():
            if process.poll() is None:
                try:
                    os.killpg(process.pid, signal.SIGTERM)
                except ProcessLookupError:
                    pass
        deadline = time.monotonic() + 15
        for process in self.processes.values():
            try:
                process.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()
