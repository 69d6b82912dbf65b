"""`make bench`: a benchmark, not a test. Prints figures; writes results/bench.json.

Measures on this machine: training time (a forced retrain into a temporary folder) and its peak memory; server
start-up time until every server answers; REST round-trip latency p50/p95 one conversation at a time and with
10 concurrent conversations (throughput too); the peak memory (VmHWM) of each server.
"""

from __future__ import annotations

import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from datetime import datetime
from pathlib import Path
from typing import Dict, List

from scripts.stack import ROOT, VENV_BIN, Stack, isolated_environment

QUESTIONS = [
    "开公司要多久",
    "简易注销要公示多少天",
    "那个体户呢",
    "住所自主申报是什么意思",
    "一个地址可以注册几家公司",
    "公司名称不能用哪些字",
    "注销公司要什么材料",
    "點樣開公司",
    "免费刻章吗",
    "歇业最长多久",
    "你好",
    "谢谢",
]


def peak_rss_mib(pid: int) -> float:
    """Peak resident memory of a process and its children (VmHWM from /proc), in MiB."""
    total = 0
    pids = [pid]
    try:
        children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
        pids += [int(c) for c in children]
    except OSError:
        pass
    for p in pids:
        try:
            for line in Path(f"/proc/{p}/status").read_text().splitlines():
                if line.startswith("VmHWM:"):
                    total += int(line.split()[1])
        except OSError:
            pass
    return total / 1024


def percentile(values: List[float], q: float) -> float:
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))
    return ordered[index]


def say(url: str, sender: str, text: str) -> float:
    body = json.dumps({"sender": sender, "message": text}).encode("utf-8")
    request = urllib.request.Request(url, data=body, headers={"Content-Type": "application/json"})
    started = time.perf_counter()
    with urllib.request.urlopen(request, timeout=60) as response:
        response.read()
    return (time.perf_counter() - started) * 1000


def measure_training(env: Dict[str, str]) -> Dict[str, float]:
    with tempfile.TemporaryDirectory() as out:
        started = time.perf_counter()
        process = subprocess.Popen(
            [str(VENV_BIN / "rasa"), "train", "--domain", "bot/domain", "--data", "data", "--config", "config.yml",
             "--out", out, "--force"],
            cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )
        peak = 0.0
        while process.poll() is None:
            peak = max(peak, _current_rss_mib(process.pid))
            time.sleep(0.2)
        if process.returncode != 0:
            raise RuntimeError("training failed")
        return {"seconds": time.perf_counter() - started, "peak_rss_mib": peak}


def _current_rss_mib(pid: int) -> float:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


def run_sequential(url: str, rounds: int) -> List[float]:
    latencies = []
    for i in range(rounds):
        latencies.append(say(url, f"bench-seq-{i // len(QUESTIONS)}", QUESTIONS[i % len(QUESTIONS)]))
    return latencies


def run_concurrent(url: str, conversations: int, per_conversation: int) -> Dict[str, float]:
    latencies: List[float] = []
    lock = threading.Lock()

    def worker(n: int) -> None:
        for i in range(per_conversation):
            ms = say(url, f"bench-conc-{n}", QUESTIONS[(n + i) % len(QUESTIONS)])
            with lock:
                latencies.append(ms)

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(conversations)]
    started = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    wall = time.perf_counter() - started
    return {
        "p50_ms": percentile(latencies, 0.5),
        "p95_ms": percentile(latencies, 0.95),
        "messages_per_second": len(latencies) / wall,
        "messages": len(latencies),
    }


def main() -> int:
    work = Path(tempfile.mkdtemp(prefix="hzbot-bench-"))
    ports = {
        "RASA_PORT": os.environ.get("BENCH_RASA_PORT", "25005"),
        "ACTION_PORT": os.environ.get("BENCH_ACTION_PORT", "25055"),
        "WEB_PORT": os.environ.get("BENCH_WEB_PORT", "28000"),
    }
    # load from one address and a few senders: the channels' throttling would measure itself, not the bot
    env = isolated_environment(work, ports, {"THROTTLE_ADDRESS_PER_MINUTE": "0", "THROTTLE_SENDER_PER_MINUTE": "0"})
    print("Training (forced, into a temporary folder)…", flush=True)
    training = measure_training(env)
    stack = Stack(env, log_dir=work / "logs").start()
    try:
        startup = stack.wait_ready(timeout=300)
        url = f"http://127.0.0.1:{env['RASA_PORT']}/webhooks/rest/webhook"
        run_sequential(url, 12)  # warm-up
        sequential = run_sequential(url, 240)
        concurrent = run_concurrent(url, conversations=10, per_conversation=24)
        memory = {name: peak_rss_mib(p.pid) for name, p in stack.processes.items()}
    finally:
        stack.stop()
    figures = {
        "date": datetime.now().strftime("%Y-%m-%d %H:%M"),
        "machine": f"{os.cpu_count()} cores, {platform.machine()}, Python {platform.python_version()}",
        "training_seconds": round(training["seconds"], 1),
        "training_peak_rss_mib": round(training["peak_rss_mib"]),
        "startup_seconds": round(startup, 1),
        "sequential": {"p50_ms": round(percentile(sequential, 0.5), 1), "p95_ms": round(percentile(sequential, 0.95), 1),
                       "mean_ms": round(statistics.mean(sequential), 1), "messages": len(sequential)},
        "concurrent_10": {k: round(v, 1) for k, v in concurrent.items()},
        "peak_rss_mib": {k: round(v) for k, v in memory.items()},
    }
    (ROOT / "results").mkdir(exist_ok=True)
    (ROOT / "results" / "bench.json").write_text(json.dumps(figures, ensure_ascii=False, indent=2), encoding="utf-8")
    print(f"Benchmark {figures['date']} on {figures['machine']}")
    print(f"  training (forced):       {figures['training_seconds']} s, peak {figures['training_peak_rss_mib']} MiB")
    print(f"  start-up until ready:    {figures['startup_seconds']} s (Rasa + actions + web app)")
    s, c = figures["sequential"], figures["concurrent_10"]
    print(f"  REST, 1 conversation:    p50 {s['p50_ms']} ms, p95 {s['p95_ms']} ms ({s['messages']} messages)")
    print(f"  REST, 10 concurrent:     p50 {c['p50_ms']} ms, p95 {c['p95_ms']} ms, "
          f"{c['messages_per_second']} msg/s ({int(c['messages'])} messages)")
    print("  peak memory (VmHWM):     " + ", ".join(f"{k} {v} MiB" for k, v in figures["peak_rss_mib"].items()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
