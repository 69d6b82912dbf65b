"""The staff-facing words: labels and messages of the console, its JSON API and the curation tools.

They live in one file, knowledge/console.yml (user-facing sentences are the domain's, bot/domain/*.yml, and the
knowledge files'). ``label(section)`` is a mapping such as the ticket statuses; ``message(key, **values)`` one
sentence with its ``{variables}`` filled in (``message("api.throttled")``).
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Any, Dict

import yaml

from core.settings import KNOWLEDGE_DIR

CATALOGUE_FILE = KNOWLEDGE_DIR / "console.yml"


@lru_cache(maxsize=4)
def catalogue(path: Path = CATALOGUE_FILE) -> Dict[str, Any]:
    with path.open(encoding="utf-8") as handle:
        return yaml.safe_load(handle)


def labels(section: str) -> Dict[str, str]:
    """The labels of ``section`` (code → Chinese), in the file's order."""
    return {str(k): str(v) for k, v in catalogue()["labels"][section].items()}


def section(name: str) -> Dict[str, Any]:
    """A whole top-level section of the catalogue (``section("stats")``: the dashboard's words), as written."""
    return catalogue()[name]


def message(key: str, **values: Any) -> str:
    """The sentence ``group.name`` of the catalogue's messages, with ``{variables}`` filled in."""
    group, _, name = key.partition(".")
    text = str(catalogue()["messages"][group][name])
    return text.format(**values) if values else text
