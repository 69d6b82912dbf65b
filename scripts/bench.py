"""`make bench`: a benchmark, not a test. Prints figures; writes results/bench.json and results/bench.png.

What users do, over the REST channel: fresh sender ids, 40-message conversations of realistic messages
(scripts/bench_conversations.py), first one at a time, then closed loop (no think time) with several at once; the
tracker store already full (thousands of past conversations cloned from a real one) and the knowledge database
seeded as `make db` does. Reported per stack: p50/p95 per phase and per kind of message, messages/s, errors,
latency by turn (1-10, 11-20, 21-30, 31-40) and turn 40 against turn 1, start-up, training, peak memory.

    make bench                      this tree, both stacks side by side: embedded (SQLite, one Rasa process) and
                                    scaled (PostgreSQL, Redis, Rasa workers behind nginx)
    make bench STACK=embedded       only the embedded stack (STACK=scaled: only the scaled one)
    make bench BASE=<commit>        also that commit (a git worktree, same .venv, its own model), side by side

Settings (environment): BENCH_SEQUENTIAL conversations one at a time (4; concurrency 1 of the sweep),
BENCH_SWEEP further concurrency levels ("5 10 20 50"), BENCH_PAST past conversations in the tracker store
(10000), BENCH_TRAIN=0 skips the forced retrain of this tree (BASE is always trained: it needs a model).

An answer counts as an error when it is empty or one of the channels' polite refusals (service unavailable,
overloaded, busy: bot/channels/messages.yml). The machine's load average is sampled every 5 s for the whole run
and printed: other work on a shared machine changes every figure.
"""

from __future__ import annotations

import json
import os
import platform
import random
import re
import shutil
import socket
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
import uuid
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, Dict, List, Optional, Tuple

from bot.channels.guard import channel_messages
from scripts.bench_conversations import TURNS, conversation

ROOT = Path(__file__).resolve().parent.parent
PYTHON = sys.executable
VENV_BIN = Path(PYTHON).parent
BUCKETS = [(1, 10), (11, 20), (21, 30), (31, 40)]

# Started inside the tree under test (cwd, PYTHONPATH), so each commit starts its servers its own way. Prints one
# JSON line once every server answers, then waits for stdin to close and stops them.
LAUNCHER = r"""
import json, os, sys
from pathlib import Path
kind, work, model = os.environ["BENCH_KIND"], Path(os.environ["BENCH_WORK"]), os.environ["BENCH_MODEL"]
ports = json.loads(os.environ["BENCH_PORTS"])
if kind == "scaled":
    from scripts.scaled import ScaledStack
    stack = ScaledStack.for_benchmark(work, ports)
    stack.start(model)
    seconds = stack.wait_ready(timeout=600)
    info = stack.bench_info()
else:
    from scripts.stack import Stack, isolated_environment
    env = isolated_environment(work, ports, {"THROTTLE_ADDRESS_PER_MINUTE": "0", "THROTTLE_SENDER_PER_MINUTE": "0"})
    stack = Stack(env, log_dir=work / "logs").start(model)
    seconds = stack.wait_ready(timeout=300)
    info = {"tracker": {"sqlite": env["TRACKER_DB"]},
            "processes": {name: p.pid for name, p in stack.processes.items()}}
print("BENCH-READY " + json.dumps({"startup_seconds": seconds, **info}), flush=True)
try:
    sys.stdin.read()
finally:
    stack.stop()
"""


# --------------------------------------------------------------------------------------------- measuring helpers


def percentile(values: List[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))
    return ordered[index]


def _status_kib(pid: int, key: str) -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(key + ":"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


def _descendants(pid: int) -> List[int]:
    found, todo = [], [pid]
    while todo:
        current = todo.pop()
        found.append(current)
        try:
            for task in Path(f"/proc/{current}/task").iterdir():
                todo += [int(c) for c in (task / "children").read_text().split()]
        except OSError:
            pass
    return found


def peak_rss_mib(pid: int) -> float:
    """Peak resident memory (VmHWM) of a process and all its descendants, in MiB."""
    return sum(_status_kib(p, "VmHWM") for p in _descendants(pid)) / 1024


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@dataclass
class Sample:
    turn: int
    kind: str
    ms: float
    ok: bool


REFUSALS = {channel_messages()[key] for key in ("unavailable", "overloaded", "busy")}


def say(url: str, sender: str, text: str) -> Tuple[float, bool]:
    """One REST round trip: (milliseconds, whether the bot answered: at least one message, not a refusal)."""
    body = json.dumps({"sender": sender, "message": text}).encode("utf-8")
    request = urllib.request.Request(url, data=body, headers={"Content-Type": "application/json"})
    started = time.perf_counter()
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            replies = json.loads(response.read().decode("utf-8"))
        ok = bool(replies) and not any(r.get("text") in REFUSALS for r in replies)
    except (urllib.error.URLError, OSError, ValueError):
        ok = False
    return (time.perf_counter() - started) * 1000, ok


def hold_conversation(url: str, seed: int, sender: Optional[str] = None) -> Tuple[str, List[Sample]]:
    sender = sender or f"bench-{uuid.uuid4().hex[:12]}"
    samples = []
    for turn, (kind, text) in enumerate(conversation(seed), start=1):
        ms, ok = say(url, sender, text)
        samples.append(Sample(turn, kind, ms, ok))
    return sender, samples


def closed_loop(url: str, concurrency: int, seeds: List[int]) -> Tuple[List[Sample], float]:
    """``concurrency`` users at once, each holding one conversation after another from ``seeds`` (no think time)."""
    samples: List[Sample] = []
    lock = threading.Lock()
    pending = list(seeds)

    def user() -> None:
        while True:
            with lock:
                if not pending:
                    return
                seed = pending.pop(0)
            _, got = hold_conversation(url, seed)
            with lock:
                samples.extend(got)

    threads = [threading.Thread(target=user) for _ in range(concurrency)]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return samples, time.perf_counter() - started


def summarise(samples: List[Sample], wall: Optional[float] = None) -> Dict[str, Any]:
    ms = [s.ms for s in samples]
    ok = [s.ms for s in samples if s.ok]
    figures: Dict[str, Any] = {
        "messages": len(samples),
        "errors": sum(1 for s in samples if not s.ok),
        "p50_ms": round(percentile(ms, 0.5), 1),
        "p95_ms": round(percentile(ms, 0.95), 1),
        "mean_ms": round(statistics.mean(ms), 1) if ms else None,
        "p95_answered_ms": round(percentile(ok, 0.95), 1),
    }
    if wall:
        figures["messages_per_second"] = round(len(samples) / wall, 1)
    figures["by_turn_p50_ms"] = {
        f"{a}-{b}": round(statistics.median([s.ms for s in samples if a <= s.turn <= b] or [float("nan")]), 1)
        for a, b in BUCKETS
    }
    first = [s.ms for s in samples if s.turn <= 3]
    last = [s.ms for s in samples if s.turn >= TURNS - 2]
    figures["turn40_over_turn1"] = round(statistics.median(last) / statistics.median(first), 2) if first and last else None
    figures["by_kind_p50_ms"] = {
        kind: round(statistics.median([s.ms for s in samples if s.kind == kind]), 1)
        for kind in sorted({s.kind for s in samples})
    }
    return figures


# ---------------------------------------------------------------------------------------- the tracker store, full


class TrackerDatabase:
    """Rasa's `events` table, read and bulk-filled (SQLite file or PostgreSQL URL)."""

    COLUMNS = ("sender_id", "type_name", "timestamp", "intent_name", "action_name", "data")

    def __init__(self, spec: Dict[str, str]) -> None:
        self.spec = spec

    def _connect(self):  # noqa: ANN202
        if "sqlite" in self.spec:
            return sqlite3.connect(self.spec["sqlite"], timeout=60)
        import psycopg2

        return psycopg2.connect(self.spec["postgresql"])

    def events_of(self, sender: str) -> List[Tuple]:
        marker = "?" if "sqlite" in self.spec else "%s"
        with self._connect() as connection:
            cursor = connection.cursor()
            cursor.execute(
                f"SELECT {', '.join(self.COLUMNS)} FROM events WHERE sender_id = {marker} ORDER BY id", (sender,)
            )
            return list(cursor.fetchall())

    def count(self) -> Tuple[int, int]:
        with self._connect() as connection:
            cursor = connection.cursor()
            cursor.execute("SELECT count(*), count(DISTINCT sender_id) FROM events")
            return tuple(cursor.fetchone())

    def fill(self, template: List[Tuple], conversations: int, seed: int = 7) -> float:
        """Insert ``conversations`` past conversations, each a prefix of ``template`` (a real conversation's rows)
        of a typical length, days to months ago. Returns seconds taken."""
        started = time.perf_counter()
        rng = random.Random(seed)
        user_rows = [i for i, row in enumerate(template) if row[1] == "user"]
        base_time = time.time() - 3 * 86400
        rows: List[Tuple] = []
        for n in range(conversations):
            turns = min(len(user_rows), 2 + int(rng.expovariate(1 / 8)))
            end = user_rows[turns] if turns < len(user_rows) else len(template)
            shift = base_time - rng.uniform(0, 90 * 86400) - (template[0][2] or 0)
            sender = f"past-{n:06d}-{rng.getrandbits(32):08x}"
            rows += [(sender, r[1], (r[2] or 0) + shift, r[3], r[4], r[5]) for r in template[:end]]
            if len(rows) > 50_000:
                self._insert(rows)
                rows = []
        if rows:
            self._insert(rows)
        if "sqlite" not in self.spec:
            with self._connect() as connection:  # statistics, as a database in service has them
                connection.cursor().execute("ANALYZE events")
        return time.perf_counter() - started

    def _insert(self, rows: List[Tuple]) -> None:
        with self._connect() as connection:
            cursor = connection.cursor()
            if "sqlite" in self.spec:
                cursor.executemany(f"INSERT INTO events ({', '.join(self.COLUMNS)}) VALUES (?, ?, ?, ?, ?, ?)", rows)
            else:  # COPY: a million rows in seconds
                import csv
                import io

                buffer = io.StringIO()
                csv.writer(buffer).writerows(rows)
                buffer.seek(0)
                cursor.copy_expert(f"COPY events ({', '.join(self.COLUMNS)}) FROM STDIN WITH (FORMAT csv)", buffer)
            connection.commit()


# ------------------------------------------------------------------------------------------------ one stack


@dataclass
class LoadSampler:
    """The machine's 1-minute load average every ``every`` seconds, in a thread."""

    def __init__(self, every: float = 5.0) -> None:
        self.every, self.values = every, [os.getloadavg()[0]]
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.wait(self.every):
            self.values.append(os.getloadavg()[0])

    def __enter__(self) -> LoadSampler:
        self._thread.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self._stop.set()
        self._thread.join()

    def summary(self) -> Dict[str, float]:
        return {"start": round(self.values[0], 2), "mean": round(statistics.mean(self.values), 2),
                "max": round(max(self.values), 2)}


@dataclass
class Target:
    label: str
    tree: Path
    kind: str = "embedded"  # or "scaled"
    train: bool = True
    figures: Dict[str, Any] = field(default_factory=dict)


def train(tree: Path, out: Path) -> Dict[str, float]:
    """A whole training from scratch: an empty component cache of its own, so nothing is restored."""
    env = _tree_env(tree, {"RASA_CACHE_DIRECTORY": str(out.parent / "rasa-cache")})
    started = time.perf_counter()
    process = subprocess.Popen(
        [str(VENV_BIN / "rasa"), "train", "--domain", "bot/domain", "--data", "data", "--config", "config.yml",
         "--out", str(out), "--force"],
        cwd=tree, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
    )
    peak = 0
    while process.poll() is None:
        peak = max(peak, sum(_status_kib(p, "VmRSS") for p in _descendants(process.pid)))
        time.sleep(0.2)
    if process.returncode != 0:
        raise RuntimeError(f"training in {tree} failed: {process.stderr.read().decode()[-2000:]}")
    return {"seconds": round(time.perf_counter() - started, 1), "peak_rss_mib": round(peak / 1024)}


def _tree_env(tree: Path, extra: Optional[Dict[str, str]] = None) -> Dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MAKE", "MFLAGS"))}
    env.update(RASA_TELEMETRY_ENABLED="false", TF_CPP_MIN_LOG_LEVEL="2", PYTHONPATH=str(tree),
               # every benchmark user comes from 127.0.0.1 and sends without pause: the channels' throttles off
               THROTTLE_ADDRESS_PER_MINUTE="0", THROTTLE_SENDER_PER_MINUTE="0", **(extra or {}))
    for name in ("DATABASE_URL", "TRACKER_DB", "RASA_PORT", "ACTION_PORT", "WEB_PORT", "ACTION_ENDPOINT_URL",
                 "RASA_URL", "REDIS_URL"):
        env.pop(name, None)
    return env


@dataclass
class Running:
    target: Target
    work: Path
    launcher: subprocess.Popen
    url: str
    info: Dict[str, Any]
    figures: Dict[str, Any]
    sequential: List[Sample] = field(default_factory=list)
    sequential_seconds: float = 0.0
    model: Optional[Path] = None


def start_target(target: Target, past: int, model: Optional[Path] = None) -> Running:
    """Train (if asked), start the stack, warm it up and fill its tracker store with ``past`` conversations.
    ``model``: a model trained earlier in this run for the same tree (the scaled stack beside the embedded one)."""
    work = Path(tempfile.mkdtemp(prefix="hzbot-bench-" + re.sub(r"[^A-Za-z0-9]+", "-", target.label) + "-"))
    figures: Dict[str, Any] = {"label": target.label, "kind": target.kind}
    model = model or target.tree / "models"
    if target.train:
        print(f"[{target.label}] training from scratch…", flush=True)
        model = work / "models"
        figures["training"] = train(target.tree, model)
    ports = {"RASA_PORT": str(free_port()), "ACTION_PORT": str(free_port()), "WEB_PORT": str(free_port())}
    print(f"[{target.label}] starting the {target.kind} stack…", flush=True)
    launcher = subprocess.Popen(
        [PYTHON, "-c", LAUNCHER], cwd=target.tree, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
        env=_tree_env(target.tree, {"BENCH_KIND": target.kind, "BENCH_WORK": str(work), "BENCH_MODEL": str(model),
                                    "BENCH_PORTS": json.dumps(ports)}),
        text=True,
    )
    info = None
    for line in launcher.stdout:
        if line.startswith("BENCH-READY "):
            info = json.loads(line[len("BENCH-READY "):])
            break
    if info is None:
        launcher.wait()
        raise RuntimeError(f"[{target.label}] the stack did not start (logs in {work})")
    running = Running(target, work, launcher, f"http://127.0.0.1:{ports['RASA_PORT']}/webhooks/rest/webhook", info,
                      figures, model=model)
    figures["startup_seconds"] = round(info["startup_seconds"], 1)
    tracker = TrackerDatabase(info["tracker"])
    print(f"[{target.label}] warm-up conversation, then {past} past conversations into the tracker store…",
          flush=True)
    sender, _ = hold_conversation(running.url, seed=999)
    figures["fill_seconds"] = round(tracker.fill(tracker.events_of(sender), past), 1)
    events, senders = tracker.count()
    figures["tracker_store"] = {"events": events, "conversations": senders}
    return running


def stop_target(running: Running) -> None:
    running.figures["peak_rss_mib"] = {
        name: round(peak_rss_mib(pid)) for name, pid in running.info["processes"].items()
    }
    if running.launcher.stdin:
        running.launcher.stdin.close()
    try:
        running.launcher.wait(timeout=60)
    except subprocess.TimeoutExpired:
        running.launcher.kill()
    if os.environ.get("BENCH_KEEP") != "1":
        shutil.rmtree(running.work, ignore_errors=True)
    else:
        running.figures["work"] = str(running.work)


def measure(stacks: List[Running], sequential: int, sweep: List[int]) -> None:
    """The same conversations for every stack, interleaved so that other load on the machine hits all alike:
    one-at-a-time conversations alternate between the stacks, concurrency levels alternate their order."""
    print(f"{sequential} conversations of {TURNS} messages one at a time, per stack…", flush=True)
    for seed in range(sequential):
        for running in stacks if seed % 2 == 0 else reversed(stacks):
            started = time.perf_counter()
            running.sequential += hold_conversation(running.url, seed=1000 + seed)[1]
            running.sequential_seconds += time.perf_counter() - started
    for running in stacks:
        running.figures["sequential"] = summarise(running.sequential, running.sequential_seconds)
        running.figures["unanswered"] = sorted({f"{s.turn}:{s.kind}" for s in running.sequential if not s.ok})
        running.figures["concurrent"] = {}
    for n, level in enumerate(sweep):
        for running in stacks if n % 2 == 0 else reversed(stacks):
            print(f"[{running.target.label}] {level} conversations at once (closed loop)…", flush=True)
            got, wall = closed_loop(running.url, level, [2000 + level * 100 + i for i in range(level)])
            running.figures["concurrent"][str(level)] = summarise(got, wall)


# ---------------------------------------------------------------------------------------------- BASE=<commit>


def base_worktree(commit: str) -> Path:
    place = Path(tempfile.mkdtemp(prefix="hzbot-bench-base-")) / "tree"
    subprocess.run(["git", "worktree", "add", "--detach", str(place), commit], cwd=ROOT, check=True,
                   capture_output=True)
    (place / ".venv").symlink_to((ROOT / ".venv").resolve())
    return place


def drop_worktree(place: Path) -> None:
    subprocess.run(["git", "worktree", "remove", "--force", str(place)], cwd=ROOT, capture_output=True)
    shutil.rmtree(place.parent, ignore_errors=True)


# ---------------------------------------------------------------------------------------------------- report


def _row(name: str, values: List[str]) -> str:
    return f"  {name:<34}" + "".join(f"{v:>24}" for v in values)


def report(all_figures: List[Dict[str, Any]]) -> str:
    lines = [_row("", [f["label"] for f in all_figures])]

    def get(f: Dict[str, Any], *path: str) -> Any:
        for key in path:
            if not isinstance(f, dict) or key not in f:
                return None
            f = f[key]
        return f

    def fmt(value: Any, unit: str = "") -> str:
        return "–" if value is None else f"{value}{unit}"

    lines.append(_row("training (forced)", [
        fmt(get(f, "training", "seconds"), " s") + (f", {get(f, 'training', 'peak_rss_mib')} MiB"
                                                    if get(f, "training") else "") for f in all_figures]))
    lines.append(_row("start-up until all answer", [fmt(f.get("startup_seconds"), " s") for f in all_figures]))
    lines.append(_row("tracker store (conversations)", [fmt(get(f, "tracker_store", "conversations"))
                                                        for f in all_figures]))
    lines.append(_row("1 at a time: p50 / p95", [f"{get(f, 'sequential', 'p50_ms')} / {get(f, 'sequential', 'p95_ms')} ms"
                                                 for f in all_figures]))
    lines.append(_row("  messages/s", [fmt(get(f, "sequential", "messages_per_second")) for f in all_figures]))
    for a, b in BUCKETS:
        lines.append(_row(f"  p50 turns {a}-{b}", [fmt(get(f, "sequential", "by_turn_p50_ms", f"{a}-{b}"), " ms")
                                                 for f in all_figures]))
    lines.append(_row("  turn 40 / turn 1 (38-40 / 1-3)", [fmt(get(f, "sequential", "turn40_over_turn1"), "×")
                                                          for f in all_figures]))
    kinds = sorted({k for f in all_figures for k in (get(f, "sequential", "by_kind_p50_ms") or {})})
    for kind in kinds:
        lines.append(_row(f"  p50 {kind}", [fmt(get(f, "sequential", "by_kind_p50_ms", kind), " ms")
                                            for f in all_figures]))
    lines.append(_row("  errors / messages", [f"{get(f, 'sequential', 'errors')} / {get(f, 'sequential', 'messages')}"
                                              for f in all_figures]))
    levels = sorted({int(k) for f in all_figures for k in (f.get("concurrent") or {})})
    for level in levels:
        c = [get(f, "concurrent", str(level)) or {} for f in all_figures]
        lines.append(_row(f"{level} at once: p50 / p95", [f"{x.get('p50_ms')} / {x.get('p95_ms')} ms" for x in c]))
        lines.append(_row("  messages/s", [fmt(x.get("messages_per_second")) for x in c]))
        lines.append(_row("  p50 turns 1-10 / 31-40", [
            f"{get(x, 'by_turn_p50_ms', '1-10')} / {get(x, 'by_turn_p50_ms', '31-40')} ms" for x in c]))
        lines.append(_row("  errors / messages", [f"{x.get('errors')} / {x.get('messages')}" for x in c]))
    lines.append(_row("  unanswered (1 at a time)", [
        f"{len(f.get('unanswered') or [])} turns" for f in all_figures]))
    names = sorted({k for f in all_figures for k in (f.get("peak_rss_mib") or {})})
    for name in names:
        lines.append(_row(f"peak memory {name}", [fmt(get(f, "peak_rss_mib", name), " MiB") for f in all_figures]))
    return "\n".join(lines)


def plot(all_figures: List[Dict[str, Any]], path: Path, title: str = "") -> None:
    import warnings

    warnings.filterwarnings("ignore", category=DeprecationWarning)  # matplotlib 3.5 on the pinned pyparsing
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return
    fig, (left, middle, right) = plt.subplots(1, 3, figsize=(15, 4.2))
    for f in all_figures:
        levels = [1] + sorted(int(k) for k in f.get("concurrent", {}))
        phases = [f["sequential"]] + [f["concurrent"][str(k)] for k in levels[1:]]
        line = left.plot(levels, [x["p95_ms"] for x in phases], marker="o", label=f"{f['label']} p95")[0]
        left.plot(levels, [x["p50_ms"] for x in phases], marker=".", linestyle="--", color=line.get_color(),
                  label=f"{f['label']} p50")
        middle.plot(levels, [x.get("messages_per_second") or 0 for x in phases], marker="o", label=f["label"])
        right.plot([f"{a}-{b}" for a, b in BUCKETS], list(f["sequential"]["by_turn_p50_ms"].values()), marker="o",
                   label=f["label"])
    left.set(xlabel="conversations at once (closed loop)", ylabel="latency (ms)", title="REST latency",
             xscale="log", yscale="log")
    left.set_xticks([1, 5, 10, 20, 50], ["1", "5", "10", "20", "50"])
    middle.set(xlabel="conversations at once (closed loop)", ylabel="messages/s", title="throughput", xscale="log")
    middle.set_xticks([1, 5, 10, 20, 50], ["1", "5", "10", "20", "50"])
    right.set(xlabel="turn", ylabel="p50 latency (ms), one at a time", title="latency by turn")
    for axis in (left, middle, right):
        axis.legend(fontsize=8)
    fig.suptitle(title, fontsize=9)
    fig.tight_layout()
    fig.savefig(path, dpi=100)


def machine() -> str:
    cpu, memory = platform.machine(), ""
    try:
        cpu = next(line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                   if line.startswith("model name"))
        kib = int(next(line.split()[1] for line in Path("/proc/meminfo").read_text().splitlines()
                       if line.startswith("MemTotal")))
        memory = f", {kib / 1024 / 1024:.0f} GiB"
    except (OSError, StopIteration, ValueError):
        pass
    return f"{os.cpu_count()} cores ({cpu}){memory}, Python {platform.python_version()}"


def main() -> int:
    base = os.environ.get("BASE") or None
    stack = os.environ.get("STACK") or "both"
    sequential = int(os.environ.get("BENCH_SEQUENTIAL", "4"))
    sweep = [int(x) for x in os.environ.get("BENCH_SWEEP", "5 10 20 50").split()]
    past = int(os.environ.get("BENCH_PAST", "10000"))
    train_ours = os.environ.get("BENCH_TRAIN", "1") != "0"

    targets: List[Target] = []
    if stack in ("embedded", "both"):
        targets.append(Target("this tree", ROOT, "embedded", train_ours))
    if stack in ("scaled", "both"):
        targets.append(Target("this tree, scaled", ROOT, "scaled", train_ours and stack == "scaled"))
    base_tree = None
    started = time.perf_counter()
    stacks: List[Running] = []
    load = LoadSampler().__enter__()
    try:
        if base:
            commit = subprocess.run(["git", "rev-parse", "--short", base], cwd=ROOT, check=True, capture_output=True,
                                    text=True).stdout.strip()
            base_tree = base_worktree(commit)
            # BASE needs a model; trained from scratch only when this tree's is (else with Rasa's shared cache)
            targets.append(Target(f"BASE {commit}", base_tree, "embedded", train_ours))
            if not train_ours:
                subprocess.run([str(VENV_BIN / "rasa"), "train", "--domain", "bot/domain", "--data", "data",
                                "--config", "config.yml", "--out", "models", "--quiet"], cwd=base_tree,
                               env=_tree_env(base_tree), check=True, capture_output=True)
        for target in targets:
            same_tree = next((r.model for r in stacks if r.target.tree == target.tree and r.target.train), None)
            stacks.append(start_target(target, past, same_tree if not target.train else None))
        measure(stacks, sequential, sweep)
    finally:
        for running in stacks:
            stop_target(running)
        if base_tree is not None:
            drop_worktree(base_tree)
        load.__exit__()
    results = [running.figures for running in stacks]
    head = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True).stdout
    summary = {
        "date": datetime.now().strftime("%Y-%m-%d %H:%M"),
        "machine": machine(),
        "load_average": load.summary(),
        "command": " ".join(["make bench"] + [f"{k}={os.environ[k]}" for k in ("STACK", "BASE", "BENCH_SWEEP",
                                                                            "BENCH_SEQUENTIAL", "BENCH_PAST")
                                              if os.environ.get(k)]),
        "commit": head.strip(),
        "bench_seconds": round(time.perf_counter() - started),
        "targets": results,
    }
    (ROOT / "results").mkdir(exist_ok=True)
    (ROOT / "results" / "bench.json").write_text(json.dumps(summary, ensure_ascii=False, indent=2), encoding="utf-8")
    plot(results, ROOT / "results" / "bench.png",
         f"make bench, {summary['date']}, {summary['machine']}, commit {summary['commit']}, "
         f"load average mean {summary['load_average']['mean']} (max {summary['load_average']['max']})")
    print(f"\nBenchmark {summary['date']} on {summary['machine']} (commit {summary['commit']}, "
          f"{summary['bench_seconds']} s): {summary['command']}")
    print(f"  load average during the run (1 min, sampled every 5 s): start {load.summary()['start']}, "
          f"mean {load.summary()['mean']}, max {load.summary()['max']}")
    print(report(results))
    if base and len(results) > 1 and "10" in results[-1].get("concurrent", {}):
        theirs = results[-1]["concurrent"]["10"]["messages_per_second"]
        for ours in results[:-1]:
            if "10" in ours.get("concurrent", {}):
                print(f"  10-at-once throughput, {ours['label']}: "
                      f"{ours['concurrent']['10']['messages_per_second'] / theirs:.1f}× {results[-1]['label']}")
    print("results/bench.json, results/bench.png")
    return 0


if __name__ == "__main__":
    sys.exit(main())
