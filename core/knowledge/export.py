"""`make kb-export`: write the database's published knowledge back to ``knowledge/answers/*.yml``.

At run time the database is the source of truth (staff edit it in the console). Exporting it lets the changes be
reviewed in git, so the seed files and the database never silently diverge. Comments in the YAML files are not
kept; each file gets a generated header instead.
"""

from __future__ import annotations

import argparse
import sys
from collections import defaultdict
from pathlib import Path
from typing import Dict, List, Optional

import yaml
from sqlalchemy import select

from core.knowledge.loader import ANSWERS_DIR
from core.knowledge.models import STATUS_PUBLISHED, KnowledgeEntry, Topic
from core.knowledge.schema import TopicFile

FIELD_ORDER = [
    "id", "intent", "entity_types", "question", "paraphrases", "answer", "to_confirm",
    "source", "source_url", "rule_date", "reviewed", "buttons",
]
HEADER = "# Exported from the database by `make kb-export`; staff edits made in the console are included.\n"


class _Dumper(yaml.SafeDumper):
    pass


def _str(dumper, data):  # noqa: ANN001
    style = "|" if "\n" in data else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", data, style=style)


_Dumper.add_representer(str, _str)


def entry_dict(row: KnowledgeEntry) -> dict:
    data = {
        "id": row.id, "intent": row.intent, "entity_types": list(row.entity_types or ["all"]),
        "question": row.question, "paraphrases": list(row.paraphrases or []), "answer": row.answer,
        "to_confirm": row.to_confirm, "source": row.source, "source_url": row.source_url,
        "rule_date": row.rule_date, "reviewed": row.reviewed, "buttons": list(row.buttons or []),
    }
    return {k: data[k] for k in FIELD_ORDER if data[k] not in (None, [], "")}


def export(session, directory: Path = ANSWERS_DIR) -> Dict[str, int]:
    rows = session.execute(
        select(KnowledgeEntry).where(KnowledgeEntry.status == STATUS_PUBLISHED).order_by(KnowledgeEntry.id)
    ).scalars()
    by_topic: Dict[str, List[dict]] = defaultdict(list)
    for row in rows:
        by_topic[row.topic_id].append(entry_dict(row))
    written = {}
    directory.mkdir(parents=True, exist_ok=True)
    for topic in session.execute(select(Topic).order_by(Topic.id)).scalars():
        entries = by_topic.get(topic.id, [])
        if not entries:
            continue
        data = {"topic": topic.id, "title": topic.title, "followups": dict(topic.followups or {}), "entries": entries}
        TopicFile.parse_obj(data)  # never write a file the loader would refuse
        text = HEADER + yaml.dump(data, Dumper=_Dumper, allow_unicode=True, sort_keys=False, width=1000)
        (directory / f"{topic.id}.yml").write_text(text, encoding="utf-8")
        written[topic.id] = len(entries)
    return written


def main(argv: Optional[List[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ANSWERS_DIR)
    args = parser.parse_args(argv)
    from core.db import session_scope

    with session_scope() as session:
        written = export(session, args.out)
    for topic, count in written.items():
        print(f"  {args.out / (topic + '.yml')}: {count} entries")
    print("Review the changes with `git diff knowledge/`.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
