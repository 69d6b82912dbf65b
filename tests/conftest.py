"""Shared fixtures: a temporary database per test, the real domain, fresh dispatchers and trackers."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Dict, List, Optional

import pytest
import yaml
from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher

from core import db
from core.settings import DOMAIN_DIR, get_settings


@pytest.fixture()
def database(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """A fresh SQLite database with every table and the seed knowledge loaded."""
    url = f"sqlite:///{tmp_path / 'test.db'}"
    monkeypatch.setenv("DATABASE_URL", url)
    get_settings.cache_clear()
    db.configure(url)
    from core.knowledge.search import faq_search

    faq_search.reset()
    import importlib

    from core.setup_db import SEEDERS  # noqa: F401 - all seeders run, as `make db` does

    db.create_schema()
    for spec in SEEDERS:
        module_name, _, function_name = spec.partition(":")
        getattr(importlib.import_module(module_name), function_name)()
    yield url
    db.configure("sqlite://")
    get_settings.cache_clear()


@pytest.fixture(scope="session")
def domain() -> Dict[str, Any]:
    """The real domain, merged from bot/domain/*.yml as Rasa merges a domain folder."""
    merged: Dict[str, Any] = {"intents": [], "entities": [], "slots": {}, "responses": {}, "actions": [], "forms": {}}
    for path in sorted(DOMAIN_DIR.glob("*.yml")):
        part = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        for key in ("intents", "entities", "actions"):
            merged[key].extend(part.get(key) or [])
        for key in ("slots", "responses", "forms"):
            merged[key].update(part.get(key) or {})
    return merged


@pytest.fixture()
def dispatcher() -> CollectingDispatcher:
    return CollectingDispatcher()


def make_tracker(
    text: str = "",
    intent: Optional[str] = None,
    entities: Optional[List[Dict[str, Any]]] = None,
    slots: Optional[Dict[str, Any]] = None,
    ranking: Optional[List[Dict[str, Any]]] = None,
    sender: str = "test-user",
    events: Optional[List[Dict[str, Any]]] = None,
) -> Tracker:
    """A tracker whose last message is ``text`` classified as ``intent`` (as the Rasa server would send it)."""
    latest = {
        "text": text,
        "intent": {"name": intent, "confidence": 1.0} if intent else {},
        "entities": entities or [],
        "intent_ranking": ranking or ([{"name": intent, "confidence": 1.0}] if intent else []),
    }
    all_events = list(events or []) + [{"event": "user", "text": text, "parse_data": latest}]
    return Tracker(sender, slots or {}, latest, all_events, False, None, {}, "action_listen")


@pytest.fixture()
def tracker_for():
    return make_tracker
