"""Offline replay of the answering decision on the development questions, for tuning without a running bot.

The NLU's parse of each question is computed once per model (cached in results/nlu_parse_<model>.json); the
retrieval and core.knowledge.decide run live, so a change to either is measured in seconds. The replay follows
actions/answers.py (action_answer for a topic intent, action_clarify for nlu_fallback / out_of_scope) and grades
the chosen entry's text with scripts.realq_report.grade; other intents (forms, refusals, small talk) defer.
It approximates the bot: `python -m scripts.realq_report --split dev` is the measurement that counts.

Usage: python -m scripts.sim_matching [--split dev] [--items] [--files a.yml,dev2.yml]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import tempfile
from collections import Counter
from pathlib import Path
from typing import Any, Dict, List

from core import db
from core.knowledge.decide import ANSWER, decide
from core.knowledge.loader import load_all
from core.knowledge.repository import knowledge_repository
from core.knowledge.search import ANSWER_THRESHOLD, STAFF_OVERRIDE_THRESHOLD, FaqIndex, entity_type_in
from core.settings import PROJECT_ROOT
from scripts.realq_report import _groups, _matches, load_items, normalise, select

# describe_case: actions/cases.py reasons about the case, else action_clarify (the reasoner is not replayed)
CLARIFY_INTENTS = {"nlu_fallback", "out_of_scope", "describe_case"}


async def _parse_all(texts: List[str]) -> Dict[str, Dict[str, Any]]:
    model = sorted((PROJECT_ROOT / "models").glob("*.tar.gz"))[-1]
    cache_path = PROJECT_ROOT / "results" / f"nlu_parse_{model.name.split('.')[0]}.json"
    cache = json.loads(cache_path.read_text(encoding="utf-8")) if cache_path.exists() else {}
    todo = [t for t in texts if t not in cache]
    if todo:
        from rasa.core.agent import Agent

        agent = Agent.load(str(model))
        for text in todo:
            parsed = await agent.parse_message(text)
            cache[text] = {
                "intent": parsed["intent"]["name"],
                "confidence": parsed["intent"]["confidence"],
                "ranking": [(r["name"], r["confidence"]) for r in parsed.get("intent_ranking", [])[:5]],
            }
        cache_path.parent.mkdir(exist_ok=True)
        cache_path.write_text(json.dumps(cache, ensure_ascii=False), encoding="utf-8")
    return cache


def _grade(item: Dict[str, Any], answer) -> str:
    if item.get("expect", "answer") == "defer":
        return "right" if answer is None else "wrong"
    if answer is None:
        return "deferred"
    text = normalise(" ".join([answer.answer, answer.to_confirm or "", answer.source or ""]))
    missing = [g for g in _groups(item.get("must")) if not _matches(g, text)]
    forbidden = [g for g in _groups(item.get("must_not")) if _matches(g, text)]
    return "right" if not missing and not forbidden else "wrong"


def replay(kb, index: FaqIndex, item: Dict[str, Any], parsed: Dict[str, Any]):
    """(answer or None, how) for one question, as actions/answers.py would decide it."""
    text = str(item["question"])
    intent, confidence = parsed["intent"], parsed["confidence"]
    matches = index.search(text, limit=5)
    entity_type = entity_type_in(text)
    if intent in CLARIFY_INTENTS:
        decision = decide(text, matches)
        if decision.kind == ANSWER and (intent != "out_of_scope" or matches[0].score >= ANSWER_THRESHOLD):
            return decision.answer, "clarify:" + decision.reason
        return None, "clarify:" + decision.kind
    if not kb.has_intent(intent):
        return None, f"intent:{intent}"
    if matches and matches[0].answer.intent is None and matches[0].score >= STAFF_OVERRIDE_THRESHOLD:
        return matches[0].answer, "staff"
    general = kb.answer_for_intent(intent, entity_type) or kb.answer_for_intent(intent)
    decision = decide(text, matches, intent, confidence, general)
    if decision.kind != ANSWER:
        return None, "answer:" + decision.kind
    if decision.answer.intent != intent:
        return decision.answer, "answer:" + decision.reason
    return kb.answer_for_intent(intent, entity_type) or general, "answer:" + decision.reason


def main(argv=None) -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--split", default="dev", choices=("dev", "heldout", "all"))
    parser.add_argument("--items", action="store_true", help="print each item (development split only)")
    parser.add_argument("--files", help="comma-separated tests/realq file names")
    args = parser.parse_args(argv)
    items = select(load_items(), args.split)
    if args.files:
        items = [i for i in items if i["file"] in args.files.split(",")]
    parsed = asyncio.run(_parse_all([str(i["question"]) for i in items]))
    tally: Counter = Counter()
    kinds: Dict[str, Counter] = {}
    with tempfile.TemporaryDirectory() as tmp:
        db.configure(f"sqlite:///{Path(tmp) / 'kb.db'}")
        load_all()
        with knowledge_repository() as kb:
            index = FaqIndex(kb.published_answers())
            for item in items:
                p = parsed[str(item["question"])]
                answer, how = replay(kb, index, item, p)
                outcome = _grade(item, answer)
                tally[outcome] += 1
                kinds.setdefault(item["kind"], Counter())[outcome] += 1
                if args.items and args.split == "dev":
                    m = index.search(str(item["question"]), limit=3)
                    print(f"{outcome:8} {item['id']:6} {how:22} {answer.id if answer else '-':32} "
                          f"{p['intent']}:{p['confidence']:.2f} | {str(item['question'])[:40]}")
                    print("          ", [(x.answer.id, round(x.score, 3)) for x in m])
    n = sum(tally.values())
    print(f"replay {args.split}: n={n} " + "  ".join(f"{k} {tally[k]} ({tally[k] / n:.1%})" for k in ("right", "deferred", "wrong")))
    for kind, c in kinds.items():
        t = sum(c.values())
        print(f"  {kind:13} n={t:3d} " + "  ".join(f"{k} {c[k]}" for k in ("right", "deferred", "wrong")))
    return 0


if __name__ == "__main__":
    sys.exit(main())
