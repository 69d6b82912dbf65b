"""Load ``knowledge/answers/*.yml`` into the database.

At run time the database is the source of truth (staff edit it in the console); the YAML files are the seed and
the reviewable export (``make kb-export``). Seeding never overwrites an entry a staff member changed: such
entries are reported and kept.

Usage: ``python -m core.knowledge.loader [--check]``
"""

from __future__ import annotations

import argparse
import hashlib
import json
import logging
import sys
from datetime import datetime
from pathlib import Path
from typing import Iterable, List, Optional

from sqlalchemy.orm import Session

from core.knowledge.models import ORIGIN_SEED, STATUS_PUBLISHED, KnowledgeEntry, Topic
from core.knowledge.schema import Entry, TopicFile, load_topic_files
from core.settings import KNOWLEDGE_DIR

log = logging.getLogger(__name__)
ANSWERS_DIR = KNOWLEDGE_DIR / "answers"


def entry_hash(entry: Entry) -> str:
    payload = json.dumps(entry.dict(), ensure_ascii=False, sort_keys=True)
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()


def _entry_fields(topic_id: str, entry: Entry) -> dict:
    data = entry.dict()
    data["buttons"] = [dict(b) for b in data["buttons"]]
    data["topic_id"] = topic_id
    return data


def seed(session: Session, topics: Iterable[TopicFile]) -> dict:
    """Insert new seed entries, update unchanged-by-staff ones whose YAML changed; return counts."""
    counts = {"inserted": 0, "updated": 0, "unchanged": 0, "kept_staff_edit": 0}
    for topic_file in topics:
        topic = session.get(Topic, topic_file.topic)
        if topic is None:
            topic = Topic(id=topic_file.topic)
            session.add(topic)
        topic.title = topic_file.title
        topic.followups = dict(topic_file.followups)
        for entry in topic_file.entries:
            digest = entry_hash(entry)
            row = session.get(KnowledgeEntry, entry.id)
            if row is None:
                session.add(
                    KnowledgeEntry(
                        **_entry_fields(topic_file.topic, entry),
                        status=STATUS_PUBLISHED,
                        origin=ORIGIN_SEED,
                        seed_hash=digest,
                        updated_by="seed",
                    )
                )
                counts["inserted"] += 1
            elif row.seed_hash == digest:
                counts["unchanged"] += 1
            elif row.updated_by != "seed":
                log.warning("Entry %s was edited in the console; the changed seed is not applied.", entry.id)
                counts["kept_staff_edit"] += 1
            else:
                for key, value in _entry_fields(topic_file.topic, entry).items():
                    setattr(row, key, value)
                row.seed_hash = digest
                row.updated_at = datetime.utcnow()
                counts["updated"] += 1
    return counts


def load_all(directory: Path = ANSWERS_DIR) -> dict:
    from core.db import create_schema, session_scope

    topics = load_topic_files(directory)
    create_schema()
    with session_scope() as session:
        return seed(session, topics)


def main(argv: Optional[List[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="only validate the YAML files")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    topics = load_topic_files(ANSWERS_DIR)
    entries = sum(len(t.entries) for t in topics)
    if args.check:
        print(f"knowledge OK: {len(topics)} topics, {entries} entries")
        return 0
    counts = load_all()
    print(f"knowledge loaded: {len(topics)} topics, {entries} entries; " + ", ".join(f"{k} {v}" for k, v in counts.items()))
    return 0


if __name__ == "__main__":
    sys.exit(main())


