"""`make run-scaled`: the same bot on PostgreSQL and Redis, several Rasa workers behind nginx, a multi-worker
action server — on the same URLs as `make run` (Rasa :5005, actions :5055, web app :8000).

- Installs the Debian packages it needs when they are missing (postgresql, redis-server, nginx; apt-get, as root).
- PostgreSQL: a cluster of its own in var/scaled/postgres (initdb/pg_ctl; run as the `postgres` user when started
  as root), listening on 127.0.0.1 only, password authentication; databases `hzbot` (knowledge, tickets, …:
  DATABASE_URL) and `hzbot_tracker` (Rasa's tracker store). Passwords are generated once into
  var/scaled/secrets.env (mode 600).
- Redis on 127.0.0.1 with a password and no persistence: Rasa's lock store (several workers never handle two
  messages of one user at once) and the state any worker must see (REDIS_URL: the WeChat store, the channels' rate limits).
- RASA_WORKERS (default: the number of cores) `rasa run` processes on ports from 5006, behind nginx on :5005:
  REST and WeChat go to the least busy worker; socket.io is sticky by client address (ip_hash), as python-socketio
  needs one process per session. A worker that dies is restarted; nginx sends new requests to the others.
- The action server with ACTION_SERVER_SANIC_WORKERS (default 2) processes; the web app as in `make run`.

Ports: RASA_PORT, ACTION_PORT, WEB_PORT (5005, 5055, 8000), SCALED_PG_PORT (55432), SCALED_REDIS_PORT (56379),
workers from SCALED_WORKER_PORT (5006). Ctrl-C stops everything it started; the data stays in var/scaled/.
"""

from __future__ import annotations

import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Dict, List, Optional

import yaml

from scripts.stack import ROOT, server_commands, stack_environment

PACKAGES = {"postgresql": "initdb", "redis-server": "redis-server", "nginx": "nginx"}


# ---------------------------------------------------------------------------------------------- packages


def postgres_bin() -> Optional[Path]:
    versions = sorted(Path("/usr/lib/postgresql").glob("*/bin/pg_ctl"), key=lambda p: int(p.parent.parent.name))
    return versions[-1].parent if versions else None


def _have(package: str) -> bool:
    if package == "postgresql":
        return postgres_bin() is not None
    return shutil.which(PACKAGES[package]) is not None or Path("/usr/sbin", PACKAGES[package]).exists()


def missing_packages() -> List[str]:
    return [package for package in PACKAGES if not _have(package)]


def ensure_packages() -> None:
    """apt-get install what is missing (as root); a clear error otherwise."""
    missing = missing_packages()
    if not missing:
        return
    if os.geteuid() != 0 or not shutil.which("apt-get"):
        raise SystemExit(f"Missing Debian packages: {' '.join(missing)}. Install them (apt-get install {' '.join(missing)})"
                         " or run this as root.")
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    print(f"Installing {' '.join(missing)} (apt-get)…", flush=True)
    command = ["apt-get", "install", "-y", "--no-install-recommends", *missing]
    if subprocess.run(command, env=env).returncode != 0:
        subprocess.run(["apt-get", "update"], env=env, check=True)
        subprocess.run(command, env=env, check=True)
    # Debian starts services on install where it can; this stack runs its own instances
    if missing_packages():
        raise SystemExit(f"Still missing after apt-get: {' '.join(missing_packages())}")


def nginx_binary() -> str:
    return shutil.which("nginx") or "/usr/sbin/nginx"


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _as_postgres(command: List[str]) -> List[str]:
    return ["runuser", "-u", "postgres", "--", *command] if os.geteuid() == 0 else command


def _chown_postgres(path: Path) -> None:
    if os.geteuid() == 0:
        shutil.chown(path, "postgres", "postgres")


# ---------------------------------------------------------------------------------------------- services


@dataclass
class Postgres:
    """A PostgreSQL cluster of its own in ``data`` (initdb on first start), on 127.0.0.1:``port``."""

    home: Path
    port: int
    superuser_password: str

    @property
    def data(self) -> Path:
        return self.home / "data"

    def _pg(self, tool: str) -> str:
        binary = postgres_bin()
        if binary is None:
            raise RuntimeError("PostgreSQL is not installed")
        return str(binary / tool)

    def init(self) -> None:
        if (self.data / "PG_VERSION").exists():
            return
        self.home.mkdir(parents=True, exist_ok=True)
        _chown_postgres(self.home)
        pwfile = self.home / "superuser.pw"
        pwfile.write_text(self.superuser_password + "\n")
        pwfile.chmod(0o600)
        _chown_postgres(pwfile)
        try:
            subprocess.run(
                _as_postgres([self._pg("initdb"), "-D", str(self.data), "-U", "postgres", "--pwfile", str(pwfile),
                              "--auth-host=scram-sha-256", "--auth-local=scram-sha-256", "-E", "UTF8",
                              "--locale=C.UTF-8"]),
                check=True, capture_output=True,
            )
        finally:
            pwfile.unlink(missing_ok=True)

    def running(self) -> bool:
        result = subprocess.run(_as_postgres([self._pg("pg_ctl"), "-D", str(self.data), "status"]),
                                capture_output=True)
        return result.returncode == 0

    def start(self) -> None:
        self.init()
        if self.running():
            return
        options = f"-c listen_addresses=127.0.0.1 -c port={self.port} -c unix_socket_directories={self.home}"
        subprocess.run(
            _as_postgres([self._pg("pg_ctl"), "-D", str(self.data), "-l", str(self.home / "postgres.log"), "-o",
                          options, "-w", "-t", "60", "start"]),
            check=True, capture_output=True,
        )

    def stop(self) -> None:
        if (self.data / "PG_VERSION").exists() and self.running():
            subprocess.run(_as_postgres([self._pg("pg_ctl"), "-D", str(self.data), "-m", "fast", "-w", "stop"]),
                           capture_output=True)

    def pid(self) -> Optional[int]:
        try:
            return int((self.data / "postmaster.pid").read_text().split()[0])
        except (OSError, ValueError, IndexError):
            return None

    def ensure_database(self, name: str, owner: str, password: str) -> None:
        import psycopg2
        from psycopg2 import sql

        connection = psycopg2.connect(host="127.0.0.1", port=self.port, user="postgres",
                                      password=self.superuser_password, dbname="postgres", connect_timeout=10)
        connection.autocommit = True
        try:
            with connection.cursor() as cursor:
                cursor.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", (owner,))
                if cursor.fetchone() is None:
                    cursor.execute(sql.SQL("CREATE ROLE {} LOGIN PASSWORD %s").format(sql.Identifier(owner)),
                                   (password,))
                cursor.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,))
                if cursor.fetchone() is None:
                    cursor.execute(sql.SQL("CREATE DATABASE {} OWNER {} ENCODING 'UTF8'").format(
                        sql.Identifier(name), sql.Identifier(owner)))
        finally:
            connection.close()


def _http_ok(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2) as response:
            return response.status < 500
    except Exception:  # noqa: BLE001 - not up yet
        return False


def nginx_config(home: Path, listen_port: int, workers: List[int], interface: str = "127.0.0.1") -> str:
    # max_fails=0: never mark a worker down for a while (with two workers both could be, and nginx answers 502);
    # a dead worker refuses the connection at once and the request goes to the next one
    servers = "\n".join(f"        server 127.0.0.1:{port} max_fails=0;" for port in workers)
    user = "user nobody nogroup;\n" if os.geteuid() == 0 else ""
    return f"""# generated by scripts/scaled.py: Rasa workers behind one port
{user}worker_processes 1;
pid {home}/nginx.pid;
error_log {home}/error.log warn;
events {{ worker_connections 4096; }}
http {{
    access_log off;
    client_body_temp_path {home}/tmp/body;
    proxy_temp_path {home}/tmp/proxy;
    fastcgi_temp_path {home}/tmp/fastcgi;
    uwsgi_temp_path {home}/tmp/uwsgi;
    scgi_temp_path {home}/tmp/scgi;
    client_max_body_size 2m;
    # REST and WeChat: any worker (the conversation is in PostgreSQL, the lock in Redis)
    upstream rasa_any {{
        least_conn;
{servers}
        keepalive 64;
    }}
    # socket.io: one worker per client address (python-socketio keeps a session in one process)
    upstream rasa_sticky {{
        ip_hash;
{servers}
    }}
    map $http_upgrade $connection_upgrade {{ default upgrade; '' close; }}
    server {{
        listen {interface}:{listen_port} reuseport;
        proxy_connect_timeout 2s;
        # a worker that is down refuses the connection: the request goes to another one. A message in flight on a
        # worker that dies gets 502 and is not sent again by nginx (it could have been handled; the user resends).
        proxy_next_upstream error timeout http_502 http_503;
        proxy_next_upstream_tries 3;
        location /socket.io/ {{
            proxy_pass http://rasa_sticky;
            proxy_http_version 1.1;
            proxy_set_header Upgrade $http_upgrade;
            proxy_set_header Connection $connection_upgrade;
            proxy_set_header Host $host;
            proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
            proxy_set_header X-Real-IP $remote_addr;
            proxy_read_timeout 3600s;
            proxy_buffering off;
        }}
        location / {{
            proxy_pass http://rasa_any;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
            proxy_set_header Host $host;
            proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
            proxy_set_header X-Real-IP $remote_addr;
            proxy_read_timeout 60s;
        }}
    }}
}}
"""


def scaled_endpoints(source: Path, target: Path) -> None:
    """endpoints.yml with the tracker store on PostgreSQL and Rasa's Redis lock store (values from the
    environment, as in endpoints.yml)."""
    endpoints = yaml.safe_load(source.read_text(encoding="utf-8")) or {}
    tracker = dict(endpoints.get("tracker_store") or {"type": "SQL"})
    for key in ("db", "dialect", "url", "port", "username", "password", "login_db", "query"):
        tracker.pop(key, None)
    tracker.update(dialect="postgresql", url="${TRACKER_PG_HOST}", port="${TRACKER_PG_PORT}",
                   db="${TRACKER_PG_DB}", username="${TRACKER_PG_USER}", password="${TRACKER_PG_PASSWORD}")
    endpoints["tracker_store"] = tracker
    # socket_timeout: Rasa calls Redis synchronously in the worker's event loop; a frozen Redis would hold every
    # conversation of the worker for Rasa's default 10 s per call
    endpoints["lock_store"] = {"type": "redis", "url": "${REDIS_HOST}", "port": "${REDIS_PORT}",
                               "password": "${REDIS_PASSWORD}", "db": 1, "key_prefix": "hzbot", "socket_timeout": 2}
    target.write_text("# generated by scripts/scaled.py from endpoints.yml\n"
                      + yaml.safe_dump(endpoints, allow_unicode=True, sort_keys=False), encoding="utf-8")


def _secrets(path: Path) -> Dict[str, str]:
    values: Dict[str, str] = {}
    if path.exists():
        for line in path.read_text().splitlines():
            key, _, value = line.partition("=")
            if key and value:
                values[key.strip()] = value.strip()
    changed = False
    for key in ("PG_SUPERUSER_PASSWORD", "PG_PASSWORD", "REDIS_PASSWORD"):
        if key not in values:
            values[key] = secrets.token_urlsafe(24)
            changed = True
    if changed:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("".join(f"{k}={v}\n" for k, v in values.items()))
        path.chmod(0o600)
    return values


# ---------------------------------------------------------------------------------------------- the stack


@dataclass
class Proc:
    name: str
    command: List[str]
    env: Dict[str, str]
    log: Path
    health: Optional[str] = None
    process: Optional[subprocess.Popen] = None
    restarts: List[float] = field(default_factory=list)

    def start(self) -> None:
        self.log.parent.mkdir(parents=True, exist_ok=True)
        output = open(self.log, "ab")  # noqa: SIM115 - lives as long as the process
        self.process = subprocess.Popen(self.command, cwd=ROOT, env=self.env, stdout=output, stderr=subprocess.STDOUT,
                                        start_new_session=True)
        output.close()

    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def stop(self, sig: int = signal.SIGTERM) -> None:
        if self.alive():
            try:
                os.killpg(self.process.pid, sig)
            except ProcessLookupError:
                pass


class ScaledStack:
    """PostgreSQL, Redis, nginx, RASA_WORKERS Rasa processes, the action server and the web app."""

    def __init__(self, home: Path, ports: Dict[str, int], workers: int, action_workers: int,
                 overrides: Optional[Dict[str, str]] = None, ephemeral: bool = False) -> None:
        self.home = home
        self.ports = ports
        self.workers = workers
        self.ephemeral = ephemeral
        self.home.mkdir(parents=True, exist_ok=True)
        self.secrets = _secrets(home / "secrets.env")
        pg_home = home / "postgres"
        if ephemeral and os.geteuid() == 0:
            # the `postgres` user cannot enter private temporary folders (mode 700): a folder of its own in /tmp
            private = Path(tempfile.mkdtemp(prefix="hzbot-pg-"))
            shutil.chown(private, "postgres", "postgres")
            pg_home = private / "postgres"
        self.postgres = Postgres(pg_home, ports["pg"], self.secrets["PG_SUPERUSER_PASSWORD"])
        self.env = self._environment(action_workers, overrides or {})
        self.procs: List[Proc] = []
        self.stopping = False

    @classmethod
    def from_environment(cls) -> ScaledStack:
        env = os.environ
        first = int(env.get("SCALED_WORKER_PORT", "5006"))
        workers = int(env.get("RASA_WORKERS") or os.cpu_count() or 2)
        ports = {"rasa": int(env.get("RASA_PORT", "5005")), "actions": int(env.get("ACTION_PORT", "5055")),
                 "web": int(env.get("WEB_PORT", "8000")), "pg": int(env.get("SCALED_PG_PORT", "55432")),
                 "redis": int(env.get("SCALED_REDIS_PORT", "56379")),
                 "workers": [first + i for i in range(workers)]}
        return cls(ROOT / "var" / "scaled", ports, workers, int(env.get("ACTION_SERVER_SANIC_WORKERS", "2")))

    @classmethod
    def for_benchmark(cls, work: Path, ports: Dict[str, str], workers: Optional[int] = None) -> ScaledStack:
        """Everything under ``work`` on free ports (benchmark, tests); Rasa's public port is ports["RASA_PORT"]."""
        workers = workers or int(os.environ.get("RASA_WORKERS") or os.cpu_count() or 2)
        numbers = {"rasa": int(ports["RASA_PORT"]), "actions": int(ports["ACTION_PORT"]),
                   "web": int(ports["WEB_PORT"]), "pg": free_port(), "redis": free_port(),
                   "workers": [free_port() for _ in range(workers)]}
        return cls(work / "scaled", numbers, workers, int(os.environ.get("ACTION_SERVER_SANIC_WORKERS", "2")),
                   ephemeral=True)

    # ------------------------------------------------------------------------------------------ settings

    def _environment(self, action_workers: int, overrides: Dict[str, str]) -> Dict[str, str]:
        pw, rpw = self.secrets["PG_PASSWORD"], self.secrets["REDIS_PASSWORD"]
        pg, redis_port = self.ports["pg"], self.ports["redis"]
        env = stack_environment({
            "RASA_PORT": str(self.ports["rasa"]), "ACTION_PORT": str(self.ports["actions"]),
            "WEB_PORT": str(self.ports["web"]),
            "DATABASE_URL": f"postgresql+psycopg2://hzbot:{pw}@127.0.0.1:{pg}/hzbot",
            "TRACKER_PG_HOST": "127.0.0.1", "TRACKER_PG_PORT": str(pg), "TRACKER_PG_DB": "hzbot_tracker",
            "TRACKER_PG_USER": "hzbot", "TRACKER_PG_PASSWORD": pw,
            "REDIS_HOST": "127.0.0.1", "REDIS_PORT": str(redis_port), "REDIS_PASSWORD": rpw,
            "REDIS_URL": f"redis://:{rpw}@127.0.0.1:{redis_port}/0",
            "ACTION_SERVER_SANIC_WORKERS": str(action_workers),
            # the channels' per-address limits see the client's address that nginx passes on (X-Real-IP)
            "TRUSTED_PROXIES": "127.0.0.1",
            # a conversation's lock held by a worker that died frees after 15 s (Rasa's default: 60 s)
            "TICKET_LOCK_LIFETIME": os.environ.get("TICKET_LOCK_LIFETIME", "15"),
            **overrides,
        })
        env["ACTION_ENDPOINT_URL"] = f"http://127.0.0.1:{self.ports['actions']}/webhook"
        env["RASA_URL"] = f"http://127.0.0.1:{self.ports['rasa']}"
        env.pop("TRACKER_DB", None)
        return env

    def tracker_dsn(self) -> str:
        return (f"host=127.0.0.1 port={self.ports['pg']} dbname=hzbot_tracker user=hzbot "
                f"password={self.secrets['PG_PASSWORD']}")

    # ------------------------------------------------------------------------------------------ starting

    def start_services(self) -> None:
        ensure_packages()
        self.postgres.start()
        self.postgres.ensure_database("hzbot", "hzbot", self.secrets["PG_PASSWORD"])
        self.postgres.ensure_database("hzbot_tracker", "hzbot", self.secrets["PG_PASSWORD"])
        redis_dir = self.home / "redis"
        redis_dir.mkdir(exist_ok=True)
        self.procs.append(Proc("redis", [
            shutil.which("redis-server") or "/usr/bin/redis-server", "--bind", "127.0.0.1",
            "--port", str(self.ports["redis"]), "--requirepass", self.secrets["REDIS_PASSWORD"], "--save", "",
            "--appendonly", "no", "--dir", str(redis_dir), "--protected-mode", "yes", "--daemonize", "no",
        ], self.env, self.home / "logs" / "redis.log"))
        self.procs[-1].start()
        self._wait_port(self.ports["redis"], "redis", 20)

    def setup_database(self) -> None:
        """`make db` against PostgreSQL: schema migrations and the knowledge seed."""
        subprocess.run([sys.executable, "-m", "core.setup_db"], cwd=ROOT, env=self.env, check=True,
                       capture_output=True)

    def start(self, model: str = "models") -> ScaledStack:
        self.start_services()
        self.setup_database()
        endpoints = self.home / "endpoints.yml"
        scaled_endpoints(ROOT / "endpoints.yml", endpoints)
        nginx_home = self.home / "nginx"
        for sub in ("body", "proxy", "fastcgi", "uwsgi", "scgi"):
            (nginx_home / "tmp" / sub).mkdir(parents=True, exist_ok=True)
            if os.geteuid() == 0:
                shutil.chown(nginx_home / "tmp" / sub, "nobody", "nogroup")
        interface = self.env.get("RASA_INTERFACE", "127.0.0.1")
        (nginx_home / "nginx.conf").write_text(nginx_config(nginx_home, self.ports["rasa"], self.ports["workers"],
                                                            interface))
        commands = server_commands(self.env, model)
        for i, port in enumerate(self.ports["workers"], start=1):
            env = {**self.env, "RASA_PORT": str(port)}
            command = server_commands(env, model)["rasa"]
            command[command.index("--endpoints") + 1] = str(endpoints)
            self.procs.append(Proc(f"rasa-{i}", command, env, self.home / "logs" / f"rasa-{i}.log",
                                   f"http://127.0.0.1:{port}/"))
        self.procs.append(Proc("actions", commands["actions"], self.env, self.home / "logs" / "actions.log",
                               f"http://127.0.0.1:{self.ports['actions']}/health"))
        if "web" in commands:
            self.procs.append(Proc("web", commands["web"], self.env, self.home / "logs" / "web.log",
                                   f"http://127.0.0.1:{self.ports['web']}/healthz"))
        self.procs.append(Proc("nginx", [nginx_binary(), "-p", str(nginx_home), "-c", str(nginx_home / "nginx.conf"),
                                         "-g", "daemon off;"], self.env, self.home / "logs" / "nginx.log"))
        for proc in self.procs:
            if proc.process is None:
                proc.start()
        return self

    def _wait_port(self, port: int, name: str, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with socket.socket() as probe:
                if probe.connect_ex(("127.0.0.1", port)) == 0:
                    return
            time.sleep(0.2)
        raise TimeoutError(f"{name} did not open port {port}")

    def wait_ready(self, timeout: float = 300.0) -> float:
        started = time.monotonic()
        pending = {p.name: p.health for p in self.procs if p.health}
        nginx = f"http://127.0.0.1:{self.ports['rasa']}/"
        while pending or nginx:
            if not pending and nginx:  # through the balancer once every worker answers
                pending["nginx"], nginx = nginx, ""
            for proc in self.procs:
                if proc.process is not None and proc.process.poll() is not None:
                    raise RuntimeError(f"{proc.name} exited with code {proc.process.returncode} (log: {proc.log})")
            for name, url in list(pending.items()):
                if _http_ok(url):
                    pending.pop(name)
            if time.monotonic() - started > timeout:
                raise TimeoutError(f"not ready after {timeout:.0f} s: {', '.join(pending)}")
            if pending:
                time.sleep(0.5)
        return time.monotonic() - started

    # ------------------------------------------------------------------------------------------ running

    def supervise_once(self) -> List[str]:
        """Restart what died (a worker killed with kill -9, …); returns the names restarted."""
        restarted = []
        now = time.monotonic()
        for proc in self.procs:
            if proc.process is not None and proc.process.poll() is not None and not self.stopping:
                proc.restarts = [t for t in proc.restarts if now - t < 60] + [now]
                if len(proc.restarts) > 5:
                    raise RuntimeError(f"{proc.name} keeps dying (log: {proc.log})")
                proc.start()
                restarted.append(proc.name)
        if not self.stopping and not self.postgres.running():
            self.postgres.start()
            restarted.append("postgres")
        return restarted

    def processes(self) -> Dict[str, int]:
        found = {p.name: p.process.pid for p in self.procs if p.process is not None}
        pid = self.postgres.pid()
        if pid:
            found["postgres"] = pid
        return found

    def bench_info(self) -> Dict[str, object]:
        return {"tracker": {"postgresql": self.tracker_dsn()}, "processes": self.processes()}

    def stop(self) -> None:
        self.stopping = True
        for proc in reversed(self.procs):
            proc.stop()
        deadline = time.monotonic() + 15
        for proc in self.procs:
            if proc.process is not None:
                try:
                    proc.process.wait(timeout=max(0.1, deadline - time.monotonic()))
                except subprocess.TimeoutExpired:
                    proc.stop(signal.SIGKILL)
                    proc.process.wait()
        self.postgres.stop()
        if self.ephemeral:
            shutil.rmtree(self.postgres.home.parent if self.postgres.home.parent.name.startswith("hzbot-pg-")
                          else self.postgres.home, ignore_errors=True)


def main() -> int:
    stack = ScaledStack.from_environment()
    stopping = False

    def _stop(_signum, _frame):  # noqa: ANN001
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGINT, _stop)
    signal.signal(signal.SIGTERM, _stop)
    try:
        print("Starting PostgreSQL, Redis, nginx and the servers (each Rasa worker loads the model)…", flush=True)
        stack.start()
        seconds = stack.wait_ready()
        p = stack.ports
        print(
            f"\nReady after {seconds:.0f} s ({stack.workers} Rasa workers, PostgreSQL :{p['pg']}, Redis :{p['redis']}):\n"
            f"  Rasa REST:  POST http://localhost:{p['rasa']}/webhooks/rest/webhook  (nginx → workers "
            f"{', '.join(map(str, p['workers']))})\n"
            f"  socket.io:  http://localhost:{p['rasa']}/socket.io\n"
            f"  actions:    http://localhost:{p['actions']}/webhook\n"
            f"  web chat:   http://localhost:{p['web']}/\n"
            f"  console:    http://localhost:{p['web']}/console\n"
            f"Data and logs in {stack.home}. Press Ctrl-C to stop.",
            flush=True,
        )
        while not stopping:
            for name in stack.supervise_once():
                print(f"{name} stopped; restarted it.", flush=True)
            time.sleep(1.0)
    finally:
        print("\nStopping…", flush=True)
        stack.stop()
        print("Stopped.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
