"""Real-question evaluation (tests/realq/*.yml): questions real people asked publicly, sent to a running bot.

Each question goes to the bot's REST channel as a fresh sender. A reply that carries the knowledge source line
(utter_source_line in bot/domain/answers.yml; also a materials checklist's footer or a self-check's source line,
see ANSWER_RESPONSES) is an ANSWER; anything else (clarification buttons, "not known",
officer offer, out of scope) is DEFERRED. Grading:
  expect: answer -> right   answered, every `must` group matched (any alternative), no `must_not` group matched
                    deferred
                    wrong     answered otherwise
  expect: defer  -> right   deferred
                    wrong     answered (a confident answer where the bot should have deferred)
Matching compares after Traditional->Simplified, whitespace removed and case folded.

Items with `split: dev` form the development set (thresholds may be tuned on it); all others are the held-out
test set, reported separately. `--split dev` asks (or prints) only the development items, so that tuning never
sees a held-out question; `--split heldout` only the held-out ones; `--figures-only` leaves out the per-item list.

Usage:
  python -m scripts.realq_report --url http://127.0.0.1:5005     # a running bot
  python -m scripts.realq_report                                 # starts its own servers (needs models/)
  python -m scripts.realq_report --results results/realq.json    # print a report written earlier
  python -m scripts.realq_report --split dev                     # the development items only (for tuning)
  python -m scripts.realq_report --split heldout --figures-only  # the held-out figures, no item shown
"""

from __future__ import annotations

import argparse
import json
import os
import re
import socket
import sys
import tempfile
import urllib.request
import uuid
from collections import Counter
from pathlib import Path
from typing import Any, Dict, Iterable, List, Optional

import opencc
import yaml

from scripts.stack import ROOT

REALQ_DIR = ROOT / "tests" / "realq"
RESULTS = ROOT / "results" / "realq.json"
DOMAIN_DIR = ROOT / "bot" / "domain"
KINDS = ("in_scope", "neighbour", "out_of_scope")
OUTCOMES = ("right", "deferred", "wrong")
SPLITS = ("dev", "heldout")

_t2s = opencc.OpenCC("t2s")


def normalise(text: str) -> str:
    return re.sub(r"\s+", "", _t2s.convert(text)).casefold()


# Responses whose fixed opening marks a sourced answer: a knowledge answer's source line (the main case), the
# footer of a materials checklist and the source line of a self-check verdict.
ANSWER_RESPONSES = (
    ("answers.yml", "utter_source_line"),
    ("materials.yml", "utter_materials_footer"),
    ("materials.yml", "utter_check_source"),
)


def source_markers(domain_dir: Path = DOMAIN_DIR) -> List[str]:
    """The fixed text of each ANSWER_RESPONSES response before its first slot, e.g. "📖 来源：" ."""
    markers = []
    for file_name, response in ANSWER_RESPONSES:
        responses = (yaml.safe_load((domain_dir / file_name).read_text(encoding="utf-8")) or {}).get("responses", {})
        marker = responses[response][0]["text"].split("{", 1)[0].strip()
        if len(marker) < 3:
            raise ValueError(f"{response} in {file_name} has no fixed text before its first slot")
        markers.append(marker)
    return markers


def load_items(directory: Path = REALQ_DIR) -> List[Dict[str, Any]]:
    items: List[Dict[str, Any]] = []
    for path in sorted(directory.glob("*.yml")):
        for item in yaml.safe_load(path.read_text(encoding="utf-8")) or []:
            items.append({**item, "file": path.name})
    return items


def split_of(item: Dict[str, Any]) -> str:
    return "dev" if item.get("split") == "dev" else "heldout"


def select(items: List[Dict[str, Any]], split: str = "all") -> List[Dict[str, Any]]:
    """The items of one split ("dev", "heldout") or all of them ("all")."""
    if split == "all":
        return list(items)
    if split not in SPLITS:
        raise ValueError(f"unknown split {split!r} (dev, heldout or all)")
    return [item for item in items if split_of(item) == split]


def _groups(value: Any) -> List[List[str]]:
    """`must`/`must_not` as a list of any-of lists (a bare string counts as a one-alternative group)."""
    if not value:
        return []
    if isinstance(value, str):
        return [[value]]
    return [[str(alt) for alt in group] if isinstance(group, list) else [str(group)] for group in value]


def _matches(group: List[str], reply: str) -> bool:
    return any(normalise(alt) in reply for alt in group)


def grade(item: Dict[str, Any], reply: str, markers: List[str]) -> Dict[str, Any]:
    flat = normalise(reply)
    answered = any(normalise(marker) in flat for marker in markers)
    missing = [group for group in _groups(item.get("must")) if not _matches(group, flat)]
    forbidden = [group for group in _groups(item.get("must_not")) if _matches(group, flat)]
    if item.get("expect", "answer") == "defer":
        outcome = "wrong" if answered else "right"
    elif not answered:
        outcome = "deferred"
    else:
        outcome = "right" if not missing and not forbidden else "wrong"
    return {"outcome": outcome, "answered": answered, "missing": missing, "forbidden": forbidden}


def ask(rasa_url: str, sender: str, text: str, timeout: float = 60) -> List[Dict[str, Any]]:
    body = json.dumps({"sender": sender, "message": text}).encode("utf-8")
    request = urllib.request.Request(
        f"{rasa_url.rstrip('/')}/webhooks/rest/webhook", data=body, headers={"Content-Type": "application/json"}
    )
    with urllib.request.urlopen(request, timeout=timeout) as response:
        return json.loads(response.read().decode("utf-8"))


def reply_text(messages: Iterable[Dict[str, Any]]) -> str:
    return "\n".join(m.get("text", "") for m in messages if m.get("text"))


def _summary(rows: List[Dict[str, Any]]) -> Dict[str, Any]:
    def counts(subset: List[Dict[str, Any]]) -> Dict[str, Any]:
        tally = Counter(row["outcome"] for row in subset)
        total = len(subset)
        return {
            "total": total,
            **{name: tally.get(name, 0) for name in (*OUTCOMES, "error")},
            **{f"{name}_rate": (tally.get(name, 0) / total if total else 0.0) for name in OUTCOMES},
        }

    return {"overall": counts(rows), "by_kind": {kind: counts([r for r in rows if r["kind"] == kind]) for kind in KINDS}}


def run(rasa_url: str, items: Optional[List[Dict[str, Any]]] = None, out: Optional[Path] = RESULTS) -> Dict[str, Any]:
    """Ask every item, grade it, return {"heldout": summary, "dev": summary, "items": [...]} (and write ``out``)."""
    items = load_items() if items is None else items
    markers = source_markers()
    rows: List[Dict[str, Any]] = []
    for item in items:
        row = {key: item.get(key) for key in ("id", "file", "question", "kind", "topic", "expect", "source_url")}
        row["split"] = split_of(item)
        try:
            messages = ask(rasa_url, f"realq-{item.get('id')}-{uuid.uuid4().hex[:8]}", str(item["question"]))
        except Exception as error:  # noqa: BLE001 - a failed request is reported, not fatal to the run
            row.update(outcome="error", answered=False, reply=f"<error: {error}>", buttons=[])
            rows.append(row)
            continue
        reply = reply_text(messages)
        row["reply"] = reply
        row["buttons"] = [b.get("title", "") for m in messages for b in m.get("buttons") or []]
        row.update(grade(item, reply, markers))
        rows.append(row)
    report = {
        "markers": markers,
        "heldout": _summary([r for r in rows if r["split"] == "heldout"]),
        "dev": _summary([r for r in rows if r["split"] == "dev"]),
        "items": rows,
    }
    if out is not None:
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(json.dumps(report, ensure_ascii=False, indent=1), encoding="utf-8")
    return report


def _line(label: str, counts: Dict[str, Any]) -> str:
    total = counts["total"]
    cells = "  ".join(f"{name} {counts[name]:3d} ({counts[f'{name}_rate']:6.1%})" for name in OUTCOMES)
    error = f"  error {counts['error']}" if counts.get("error") else ""
    return f"  {label:<13} n={total:3d}  {cells}{error}"


def format_report(report: Dict[str, Any], split: str = "all", items: bool = True) -> str:
    """The figures of each split asked for (``split``: dev, heldout or all), with the wrong items unless
    ``items`` is false."""
    lines: List[str] = []
    for name, title in (("heldout", "held-out test set"), ("dev", "development set (split: dev)")):
        if split not in ("all", name):
            continue
        summary = report[name]
        lines.append(f"Real questions — {title}")
        if not summary["overall"]["total"]:
            lines.append("  (no items)")
            continue
        lines.append(_line("overall", summary["overall"]))
        for kind in KINDS:
            if summary["by_kind"][kind]["total"]:
                lines.append(_line(kind, summary["by_kind"][kind]))
        bad = [r for r in report["items"] if r["split"] == name and r["outcome"] in ("wrong", "error")] if items else []
        if bad:
            lines.append(f"  wrong ({len(bad)}):")
        for row in bad:
            reply = " ".join(row.get("reply", "").split())[:80]
            why = ""
            if row.get("expect") == "defer":
                why = " [answered, should defer]"
            elif row.get("missing") or row.get("forbidden"):
                why = f" [missing {row.get('missing')}; forbidden {row.get('forbidden')}]"
            lines.append(f"   - {row['id']} ({row['kind']}){why}\n       Q: {row['question'][:80]}\n       A: {reply}")
    return "\n".join(lines)


def _start_own_stack():
    from scripts.stack import Stack, isolated_environment

    def free_port() -> str:
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            return str(probe.getsockname()[1])

    work = Path(tempfile.mkdtemp(prefix="realq-"))
    # every question comes from this one address as fast as the bot answers: the channel throttles (a public
    # user's limits) would answer most of them with 「您发送得太快了」
    env = isolated_environment(work, {"RASA_PORT": free_port(), "ACTION_PORT": free_port(), "WEB_PORT": free_port(),
                                      "THROTTLE_ADDRESS_PER_MINUTE": "0", "THROTTLE_SENDER_PER_MINUTE": "0"})
    stack = Stack(env, log_dir=work / "logs").start()
    try:
        stack.wait_ready(timeout=300)
    except Exception:
        stack.stop()
        raise
    return stack, f"http://127.0.0.1:{env['RASA_PORT']}"


def main(argv: Optional[List[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", default=os.environ.get("REALQ_RASA_URL"), help="running Rasa (REALQ_RASA_URL)")
    parser.add_argument("--results", type=Path, help="print this earlier results file instead of asking a bot")
    parser.add_argument("--split", choices=("all", *SPLITS), default="all", help="which items to ask or print")
    parser.add_argument("--figures-only", action="store_true", help="the figures without the list of wrong items")
    parser.add_argument("--out", type=Path, help=f"where to write the results (default {RESULTS.relative_to(ROOT)})")
    args = parser.parse_args(argv)
    show_items = not args.figures_only
    if args.results:
        if not args.results.exists():
            print(f"Real questions: no {args.results} (written by tests/e2e/test_realq.py)")
            return 0
        report = json.loads(args.results.read_text(encoding="utf-8"))
        print(format_report(report, args.split, show_items))
        return 0
    out = args.out or RESULTS
    stack = None
    url = args.url
    if not url:
        stack, url = _start_own_stack()
    try:
        report = run(url, select(load_items(), args.split), out=out)
    finally:
        if stack is not None:
            stack.stop()
    print(format_report(report, args.split, show_items))
    print(f"(written to {out})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
