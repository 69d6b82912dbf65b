"""Start, supervise and stop the three servers together: Rasa (5005), the action server (5055), the web app (8000).

Used by `make run` (scripts/run.py), by the end-to-end tests and by the benchmark, so all three start the
servers the same way. Ports come from RASA_PORT, ACTION_PORT and WEB_PORT.

Supervision (``Stack(..., supervise=True)``): one server's exit never stops the others. A server that exits is
started again after a backoff (1 s, 2 s, 4 s … at most 30 s; back to 1 s once it ran for a minute), and a server
that was up but stops answering its health check (frozen) three times in a row is killed and so restarted. Each
restart is logged ("[stack] …" on stdout and in the server's log file).

Secrets shared between the servers are made per start when the environment does not set them:
ACTION_SERVER_TOKEN (Rasa -> action server, endpoints.yml) and CHAT_SESSION_SECRET (signs web chat session ids).
"""

from __future__ import annotations

import os
import secrets
import signal
import subprocess
import sys
import threading
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
    for secret in ("ACTION_SERVER_TOKEN", "CHAT_SESSION_SECRET"):
        if not env.get(secret, "").strip():
            env[secret] = secrets.token_urlsafe(32)
    env["ACTION_SERVER_HOST"] = env.get("ACTION_SERVER_HOST", "").strip() or "127.0.0.1"
    # Rasa's public channels: 64 KB per request (Sanic's default is 100 MB); the action server sets its own limit
    env["SANIC_REQUEST_MAX_SIZE"] = env.get("RASA_MAX_BODY", "").strip() or "65536"
    if not env.get("CHAT_ALLOWED_ORIGINS", "").strip():
        env["CHAT_ALLOWED_ORIGINS"] = f"http://localhost:{env['WEB_PORT']},http://127.0.0.1:{env['WEB_PORT']}"
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
    if "CHAT_ALLOWED_ORIGINS" not in (extra or {}):
        env["CHAT_ALLOWED_ORIGINS"] = f"http://localhost:{env['WEB_PORT']},http://127.0.0.1:{env['WEB_PORT']}"
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
        "--cors", *[o.strip() for o in env["CHAT_ALLOWED_ORIGINS"].split(",") if o.strip()],
    ]
    if env.get("RASA_API_TOKEN"):
        rasa += ["--enable-api", "--auth-token", env["RASA_API_TOKEN"]]
    commands = {
        "actions": [str(VENV_BIN / "python"), "-m", "actions.server", "--port", env["ACTION_PORT"]],
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


HEALTH_EVERY = 5.0  # seconds between health checks of a running server
HEALTH_FAILURES = 3  # failed checks in a row after which a server that was up counts as frozen
MAX_BACKOFF = 30.0
STABLE_AFTER = 60.0  # a server up this long starts its backoff again from 1 s


@dataclass
class Stack:
    env: Dict[str, str]
    processes: Dict[str, subprocess.Popen] = field(default_factory=dict)
    log_dir: Optional[Path] = None
    supervise: bool = False
    restarts: Dict[str, int] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self._commands: Dict[str, List[str]] = {}
        self._started_at: Dict[str, float] = {}
        self._failures: Dict[str, int] = {}
        self._streak: Dict[str, int] = {}  # quick exits in a row (the backoff's exponent)
        self._was_up: Dict[str, bool] = {}
        self._stopping = threading.Event()
        self._lock = threading.Lock()
        self._threads: List[threading.Thread] = []

    def note(self, name: str, text: str) -> None:
        """A supervision message, on stdout and in the server's log file."""
        line = f"[stack] {time.strftime('%Y-%m-%d %H:%M:%S')} {text}"
        print(line, flush=True)
        if self.log_dir is not None:
            with open(self.log_dir / f"{name}.log", "a", encoding="utf-8") as log:
                log.write(line + "\n")

    def _spawn(self, name: str) -> None:
        output = None
        if self.log_dir is not None:
            self.log_dir.mkdir(parents=True, exist_ok=True)
            output = open(self.log_dir / f"{name}.log", "ab")  # noqa: SIM115 - closed with the process
        self.processes[name] = subprocess.Popen(
            self._commands[name], cwd=ROOT, env=self.env, stdout=output,
            stderr=subprocess.STDOUT if output else None, start_new_session=True,
        )
        if output is not None:
            output.close()  # the child has its own copy
        self._started_at[name] = time.monotonic()
        self._failures[name] = 0
        self._was_up[name] = False
    def health_urls(self) -> Dict[str, str]:
        urls = {
            "actions": f"http://127.0.0.1:{self.env['ACTION_PORT']}/health",
            "rasa": f"http://127.0.0.1:{self.env['RASA_PORT']}/",
        }
        if "web" in self.processes:
            urls["web"] = f"http://127.0.0.1:{self.env['WEB_PORT']}/healthz"
        return urls

    def start(self, model: str = "models") -> Stack:
        self._commands = server_commands(self.env, model)
        with self._lock:
            for name in self._commands:
                self._spawn(name)
        if self.supervise:
            for target in (self._restart_exited, self._kill_frozen):
                thread = threading.Thread(target=target, name=f"stack-{target.__name__}", daemon=True)
                thread.start()
                self._threads.append(thread)
        return self

    def _restart_exited(self) -> None:
        due: Dict[str, float] = {}
        while not self._stopping.wait(0.5):
            with self._lock:
                for name, process in list(self.processes.items()):
                    if process.poll() is None:
                        continue
                    now = time.monotonic()
                    if name not in due:
                        if now - self._started_at.get(name, now) >= STABLE_AFTER:
                            self._streak[name] = 0
                        backoff = min(MAX_BACKOFF, 2.0 ** self._streak.get(name, 0))
                        due[name] = now + backoff
                        self.note(name, f"the {name} server exited (code {process.returncode}); "
                                        f"starting it again in {backoff:.0f} s")
                    elif now >= due[name] and not self._stopping.is_set():
                        del due[name]
                        self.restarts[name] = self.restarts.get(name, 0) + 1
                        self._streak[name] = self._streak.get(name, 0) + 1
                        self._spawn(name)
                        self.note(name, f"the {name} server was started again (restart {self.restarts[name]})")

    def _kill_frozen(self) -> None:
        while not self._stopping.wait(HEALTH_EVERY):
            try:
                self._check_health()
            except Exception as exc:  # noqa: BLE001 - the watch must go on
                self.note("rasa", f"health check failed: {exc!r}")

    def seen_up(self, name: str) -> bool:
        """Whether the supervisor has seen this server answer since it was (re)started (so it watches for a freeze)."""
        return bool(self._was_up.get(name))

    def _check_health(self) -> None:
        for name, url in self.health_urls().items():
            process = self.processes.get(name)
            if process is None or process.poll() is not None:
                continue
            if _ready(url):
                self._was_up[name], self._failures[name] = True, 0
                continue
            if not self._was_up.get(name):
                continue  # still starting (Rasa loads its model)
            self._failures[name] = self._failures.get(name, 0) + 1
            if self._failures[name] == 1:
                self.note(name, f"the {name} server did not answer its health check")
            if self._failures[name] >= HEALTH_FAILURES and not self._stopping.is_set():
                self.note(name, f"the {name} server stopped answering its health check; killing it to restart it")
                try:
                    os.killpg(process.pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
                self._failures[name] = 0


    def wait_ready(self, timeout: float = 180.0) -> float:
        """Seconds until every server answers; raises if one dies or the time runs out."""
        started = time.monotonic()
        pending = dict(self.health_urls())
        while pending:
            for name, process in self.processes.items():
                if process.poll() is not None and not self.supervise:
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
        self._stopping.set()
        for thread in self._threads:
            thread.join(timeout=HEALTH_EVERY + 10)
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
