"""The NLU training data (data/nlu/*.yml) and the held-out test sets (tests/nlu/*.yml: heldout.yml, plus one file per
feature such as handoff.yml) stay separate and complete.

Examples are compared in the form the pipeline sees them (bot.nlu_components.normalizer.normalize_text: Traditional →
Simplified, Cantonese and typos → Mandarin, HTML stripped), so "幾耐" in one file and "多久" in the other count as
the same example.
"""

from __future__ import annotations

import re
from collections import defaultdict
from pathlib import Path
from typing import Dict, List

import pytest
import yaml

from bot.nlu_components.normalizer import normalize_text

ROOT = Path(__file__).resolve().parents[2]
TRAINING_DIR = ROOT / "data" / "nlu"
HELDOUT_DIR = ROOT / "tests" / "nlu"
MIN_TRAINING_EXAMPLES = 20
# Intents that must never get examples: set by a component (InputGuard) or by the fallback, or only by buttons.
NO_EXAMPLES = {"empty_input", "nlu_fallback", "faq_select"}

# [text](entity) and [text]{"entity": ..., "value": ...}
_ANNOTATION = re.compile(r"\[([^\]]+)\](?:\([^)]*\)|\{[^}]*\})")


def _plain(example: str) -> str:
    return _ANNOTATION.sub(r"\1", example)


def _examples(paths: List[Path]) -> Dict[str, List[str]]:
    """intent → raw example texts (annotations removed) of the ``nlu`` sections in ``paths``."""
    examples: Dict[str, List[str]] = defaultdict(list)
    for path in paths:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        for item in data.get("nlu", []) or []:
            if "intent" not in item:
                continue
            for line in str(item.get("examples", "")).splitlines():
                line = line.strip()
                if line.startswith("- "):
                    examples[item["intent"]].append(_plain(line[2:].strip()))
    return examples


@pytest.fixture(scope="module")
def training() -> Dict[str, List[str]]:
    return _examples(sorted(TRAINING_DIR.glob("*.yml")))


@pytest.fixture(scope="module")
def heldout() -> Dict[str, List[str]]:
    return _examples(sorted(HELDOUT_DIR.glob("*.yml")))


def test_heldout_shares_no_example_with_training(training, heldout):
    trained = {normalize_text(text): intent for intent, texts in training.items() for text in texts}
    shared = [
        f"{text!r} (held-out {intent}, training {trained[normalize_text(text)]})"
        for intent, texts in heldout.items()
        for text in texts
        if normalize_text(text) in trained
    ]
    assert not shared, "held-out examples also in data/nlu after normalisation:\n" + "\n".join(shared)


def test_heldout_covers_every_training_intent(training, heldout):
    missing = sorted(set(training) - set(heldout))
    assert not missing, f"intents with training data but no held-out examples: {missing}"
    unknown = sorted(set(heldout) - set(training))
    assert not unknown, f"held-out intents without training data: {unknown}"


def test_every_training_intent_has_enough_examples(training):
    thin = {intent: len(texts) for intent, texts in training.items() if len(texts) < MIN_TRAINING_EXAMPLES}
    assert not thin, f"intents with fewer than {MIN_TRAINING_EXAMPLES} training examples: {thin}"


def test_no_examples_for_component_set_intents(training, heldout):
    assert not NO_EXAMPLES & set(training)
    assert not NO_EXAMPLES & set(heldout)


def test_no_training_example_in_two_intents(training):
    seen: Dict[str, str] = {}
    clashes = []
    for intent, texts in training.items():
        for text in texts:
            key = normalize_text(text)
            if key in seen and seen[key] != intent:
                clashes.append(f"{text!r}: {seen[key]} / {intent}")
            seen.setdefault(key, intent)
    assert not clashes, "the same example (after normalisation) in two intents:\n" + "\n".join(clashes)


def test_no_example_is_empty_after_normalisation(training, heldout):
    empty = [text for examples in (training, heldout) for texts in examples.values() for text in texts
             if not normalize_text(text)]
    assert not empty, f"examples with nothing left after normalisation (HTML only?): {empty}"
