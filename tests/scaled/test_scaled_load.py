"""Load on the scaled stack: 200 conversations of 10 messages at once (closed loop, through nginx, spread over the
Rasa workers). Afterwards every conversation is read back from the PostgreSQL tracker store: each message stored
once and in order, each followed by exactly the replies its sender received and one return to listening (no lost
message, no duplicate reply, no reply to the wrong user), and the context-dependent answers are each sender's own.
"""

from __future__ import annotations

import os
import statistics
import threading
import time
import urllib.error
import uuid
from typing import Dict, List

from scripts.bench_conversations import conversation
from scripts.scaled import ScaledStack
from tests.scaled.helpers import stored_turns, timed_say

CONVERSATIONS = 200
MESSAGES = 10
# the first two messages show whose context a reply comes from: 简易注销 (公示20天) and then 个体户 (10天), or 开办 (0.5天)
OPENINGS = [["简易注销要公示多少天", "那个体户呢"], ["开公司要多久", "谢谢"]]


def _cpu_seconds(pid: int) -> float:
    fields = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")  # utime + stime


def _paragraphs(texts: List[str]) -> List[str]:
    return [part for text in texts for part in text.split("\n\n")]


def _script(index: int) -> List[str]:
    rest = [text for _, text in conversation(5000 + index, MESSAGES - 2)]
    return OPENINGS[index % 2] + rest


def test_200_conversations_at_once_are_complete_in_order_and_not_mixed_up(scaled: ScaledStack):
    senders = [f"load200-{i:03d}-{uuid.uuid4().hex[:6]}" for i in range(CONVERSATIONS)]
    scripts = {sender: _script(i) for i, sender in enumerate(senders)}
    received: Dict[str, List[List[str]]] = {s: [] for s in senders}
    latencies: List[float] = []
    errors: List[str] = []
    start = threading.Barrier(CONVERSATIONS)

    def hold(sender: str) -> None:
        start.wait()
        for text in scripts[sender]:
            try:
                answer, seconds = timed_say(scaled.ports["rasa"], sender, text, timeout=120)
            except (urllib.error.URLError, OSError) as error:
                errors.append(f"{sender}: {type(error).__name__} {error}")
                return
            received[sender].append([m.get("text") or "" for m in answer])
            latencies.append(seconds)

    workers = {p.name: p.process.pid for p in scaled.procs if p.name.startswith("rasa-")}
    cpu_before = {name: _cpu_seconds(pid) for name, pid in workers.items()}
    threads = [threading.Thread(target=hold, args=(s,), daemon=True) for s in senders]
    began = time.monotonic()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=600)
    wall = time.monotonic() - began
    cpu = {name: _cpu_seconds(pid) - cpu_before[name] for name, pid in workers.items()}
    assert not errors, errors[:5]
    # spread over the workers: each did a fair share of the work
    assert min(cpu.values()) > 0.25 * sum(cpu.values()), cpu
    ordered = sorted(latencies)
    print(f"\n{len(latencies)} messages in {wall:.0f} s ({len(latencies) / wall:.1f}/s), "
          f"p50 {statistics.median(ordered):.2f} s, p95 {ordered[int(0.95 * (len(ordered) - 1))]:.2f} s, CPU s by worker {cpu}")

    problems: List[str] = []
    for index, sender in enumerate(senders):
        replies = received[sender]
        turns = stored_turns(scaled, sender)
        first = "\n".join(replies[0]) if replies else ""
        second = "\n".join(replies[1]) if len(replies) > 1 else ""
        if len(replies) != MESSAGES or not all(replies[:2]):
            problems.append(f"{sender}: {len(replies)} replies {replies}")
        elif [text for text, _, _ in turns] != scripts[sender]:  # every message once, in order
            problems.append(f"{sender}: stored {[t for t, _, _ in turns]} sent {scripts[sender]}")
        # each answered with what this sender received (the REST channel sends a text's paragraphs one by one)
        elif [_paragraphs(said) for _, said, _ in turns] != [_paragraphs(got) for got in replies]:
            problems.append(f"{sender}: " + "; ".join(
                f"turn {i + 1} {text!r}: stored {said} received {got}"
                for i, ((text, said, _), got) in enumerate(zip(turns, replies, strict=True))
                if _paragraphs(said) != _paragraphs(got)))
        elif [listens for _, _, listens in turns] != [1] * MESSAGES:  # one answer per message, not two
            problems.append(f"{sender}: returns to listening {[n for _, _, n in turns]}")
        elif index % 2 == 0 and not ("20" in first and "10" in second):  # its own context, not another's
            problems.append(f"{sender}: context {first!r} {second!r}")
        elif index % 2 == 1 and not ("0.5" in first and "公示" not in first):
            problems.append(f"{sender}: context {first!r}")
    assert not problems, f"{len(problems)} conversations:\n" + "\n".join(problems[:8])
