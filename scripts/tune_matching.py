"""Dump what the matcher sees for the development questions: the NLU's intent and confidence, and the retrieval's
best entries. Used to choose the thresholds of core.knowledge.decide on the development split only
(tests/realq/*.yml items with `split: dev`, and tests/faq/heldout.yml).

Usage: python -m scripts.tune_matching [--all]   (needs a trained model in models/)
"""

from __future__ import annotations

import asyncio
import json
import sys
import tempfile
from pathlib import Path

import yaml

from core import db
from core.knowledge.loader import load_all
from core.knowledge.repository import knowledge_repository
from core.knowledge.search import FaqIndex
from core.settings import PROJECT_ROOT


def items(include_all: bool):
    out = []
    for path in sorted((PROJECT_ROOT / "tests" / "realq").glob("*.yml")):
        for item in yaml.safe_load(path.read_text(encoding="utf-8")) or []:
            if include_all or item.get("split") == "dev":
                out.append(item)
    return out


async def main() -> int:
    from rasa.core.agent import Agent

    model = sorted((PROJECT_ROOT / "models").glob("*.tar.gz"))[-1]
    agent = Agent.load(str(model))
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        db.configure(f"sqlite:///{Path(tmp) / 'kb.db'}")
        load_all()
        with knowledge_repository() as kb:
            index = FaqIndex(kb.published_answers())
            for item in items("--all" in sys.argv):
                parsed = await agent.parse_message(item["question"])
                matches = index.search(item["question"], limit=5)
                rows.append({
                    "id": item["id"], "q": item["question"], "kind": item["kind"], "expect": item["expect"],
                    "must": item.get("must"), "intent": parsed["intent"]["name"],
                    "conf": round(parsed["intent"]["confidence"], 3),
                    "ranking": [(r["name"], round(r["confidence"], 3)) for r in parsed.get("intent_ranking", [])[:3]],
                    "matches": [(m.answer.id, m.answer.intent, round(m.score, 3)) for m in matches],
                })
    out = PROJECT_ROOT / "results" / "tune_matching.json"
    out.parent.mkdir(exist_ok=True)
    out.write_text(json.dumps(rows, ensure_ascii=False, indent=1), encoding="utf-8")
    print(f"{len(rows)} rows → {out}")
    return 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
