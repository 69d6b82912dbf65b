"""Reading the form's answers from free text (pure functions over the words in knowledge/materials/conditions.yml).

The text given here is already normalised and has the material names masked (``mask()``), so "公司章程" does not
read as the entity type 公司 and "租房合同" does not by itself say the user rents - what they hold says that.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any, Dict, Iterable, List, Sequence, Tuple

import yaml

from core.materials.schema import ConditionsFile
from core.materials.specs import FOOD, SETUP, UNSURE, Exclusion
from core.settings import KNOWLEDGE_DIR

GLOSSARY = KNOWLEDGE_DIR / "glossary.yml"
MASK = "□"
YES, NO = "yes", "no"
# punctuation a negation does not reach across
CLAUSE_BREAKS = frozenset("，,。.；;！!？?、：:\n \t～~")


def mask(text: str, spans: Iterable[Tuple[int, int]]) -> str:
    """``text`` with the given character spans replaced by MASK (same length, so offsets stay valid)."""
    chars = list(text)
    for start, end in spans:
        for i in range(max(0, start), min(len(chars), end)):
            chars[i] = MASK
    return "".join(chars)


def _clause_at(text: str, index: int) -> str:
    """The clause of ``text`` around ``index`` (between CLAUSE_BREAKS)."""
    start = index
    while start > 0 and text[start - 1] not in CLAUSE_BREAKS:
        start -= 1
    end = index
    while end < len(text) and text[end] not in CLAUSE_BREAKS:
        end += 1
    return text[start:end]


@dataclass(frozen=True)
class Hit:
    start: int
    end: int
    word: str
    targets: Tuple[Tuple[str, Any], ...]
    negated: bool


class KeywordTable:
    """Longest-first, non-overlapping keyword matching; each word maps to one or more (key, value) targets."""

    def __init__(self, entries: Iterable[Tuple[str, str, Any]], negations: Sequence[str] = ()) -> None:
        table: Dict[str, List[Tuple[str, Any]]] = {}
        for word, key, value in entries:
            word = str(word).lower()
            if word and (key, value) not in table.setdefault(word, []):
                table[word].append((key, value))
        self.table = {w: tuple(t) for w, t in table.items()}
        self.lengths = sorted({len(w) for w in self.table}, reverse=True)
        self.negations = sorted(negations, key=len, reverse=True)

    def _negated(self, text: str, start: int) -> bool:
        """A negation right before the word, or one character before it ("没有租"); never across a clause break
        ("不是，内地居民" denies the question, not 内地居民)."""
        before = text[max(0, start - 3) : start]
        gap_ok = bool(before) and before[-1] not in CLAUSE_BREAKS
        return any(before.endswith(n) or (gap_ok and before[:-1].endswith(n)) for n in self.negations if n)

    def scan(self, text: str) -> List[Hit]:
        hits: List[Hit] = []
        i = 0
        while i < len(text):
            for length in self.lengths:
                word = text[i : i + length]
                targets = self.table.get(word)
                if targets:
                    hits.append(Hit(i, i + length, word, targets, self._negated(text, i)))
                    i += length
                    break
            else:
                i += 1
        return hits


def _entity_type_words(path: Path = GLOSSARY) -> List[Tuple[str, str, str]]:
    glossary = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    entries = []
    for canonical, synonyms in (glossary.get("entity_types") or {}).items():
        for word in [canonical, *(synonyms or [])]:
            entries.append((word, "entity_type", canonical))
    return entries


class Reader:
    """What a message says about the form's questions."""

    def __init__(self, language: ConditionsFile, entity_type_words: List[Tuple[str, str, str]] | None = None) -> None:
        self.language = language
        negations = language.negations
        self._conditions = KeywordTable(
            (
                (word, key, value)
                for key, condition in language.conditions.items()
                for value, words in condition.values.items()
                for word in words.keywords
            ),
            negations,
        )
        self._procedures = KeywordTable(
            ((w, "procedure", kind) for kind, words in language.procedures.items() for w in words.keywords), negations
        )
        self._entity_types = KeywordTable(
            entity_type_words if entity_type_words is not None else _entity_type_words(), ["不是", "不", "非"]
        )
        self._address = KeywordTable(
            ((w, key, value) for key, values in language.address_check.items() for value, words in values.items() for w in words),
            negations,
        )
        self._setup_patterns = [re.compile(p) for p in language.setup_patterns]
        answers = language.answers
        self._answers = KeywordTable(
            [(w, "answer", YES) for w in answers["yes"]] + [(w, "answer", NO) for w in answers["no"]]
        )

    # -- single words ---------------------------------------------------------------------------------------------

    def _contains(self, text: str, kind: str) -> bool:
        return any(word in text for word in self.language.answers[kind])

    def is_cancel(self, text: str) -> bool:
        return self._contains(text, "cancel")

    def is_correction(self, text: str) -> bool:
        return self._contains(text, "correction")

    def is_unsure(self, text: str) -> bool:
        return self._contains(text, "unsure")

    def says_all_no(self, text: str) -> bool:
        return self._contains(text, "all_no")

    def says_none_held(self, text: str) -> bool:
        return self._contains(text, "none_held")

    def answer(self, text: str) -> str | None:
        """yes / no / unsure for a yes-no question; None when the text does not answer it."""
        if self.is_unsure(text):
            return UNSURE
        hits = [
            hit
            for hit in self._answers.scan(text)
            if hit.start <= 3  # an answer comes first: "是的，…"
            and MASK not in _clause_at(text, hit.start)  # "我现在有□□□了" says what the user holds, answers nothing
        ]
        return hits[0].targets[0][1] if hits else None

    # -- the form's questions -------------------------------------------------------------------------------------

    def procedure(self, text: str, has_licence: bool = False) -> str | None:
        kinds = [t[1] for hit in self._procedures.scan(text) if not hit.negated for t in hit.targets]
        if SETUP not in kinds and any(p.search(text) for p in self._setup_patterns):
            kinds.insert(0, SETUP)
        if not kinds:
            return None
        if FOOD in kinds and SETUP in kinds:
            already_open = has_licence or any(w in text for w in ("已经开", "开了", "开业了", "有执照", "有营业执照"))
            return FOOD if already_open else SETUP
        return kinds[-1]

    def mentions_deregistration(self, text: str) -> bool:
        return any(word in text for word in self.language.dereg_words)

    def entity_type(self, text: str) -> str | None:
        """The last entity type named and not denied ("不是个体户，是合伙企业" → 合伙企业)."""
        text = mask(text, [(hit.start, hit.end) for hit in self._conditions.scan(text)])  # "会计公司代办" is no 公司
        found = [hit.targets[0][1] for hit in self._entity_types.scan(text) if not hit.negated]
        return found[-1] if found else None

    def conditions(self, text: str) -> Dict[str, Any]:
        """Condition values stated in the text; a negated yes/no keyword flips ("不是住宅" → residential False)."""
        result: Dict[str, Any] = {}
        for hit in self._conditions.scan(text):
            for key, value in hit.targets:
                if hit.negated:
                    if isinstance(value, bool):
                        result[key] = not value
                    continue
                result[key] = value
        return result

    def condition_answer(self, key: str, text: str) -> Any | None:
        """The answer to the question about ``key`` when the user replies briefly ("是的", "没有", "不知道")."""
        values = list(self.language.conditions[key].values)
        answer = self.answer(text)
        if answer == UNSURE:
            return UNSURE
        if set(values) == {True, False}:
            return {YES: True, NO: False}.get(answer)
        if answer == NO and "none" in values:
            return "none"
        return None

    def address_facts(self, text: str) -> Dict[str, Any]:
        result: Dict[str, Any] = {}
        for hit in self._address.scan(text):
            if hit.negated:
                continue
            for key, value in hit.targets:
                result.setdefault(key, value)
        return result

    def exclusions(self, text: str, exclusions: Sequence[Exclusion]) -> Dict[str, bool]:
        """Exclusions the user states or denies in passing ("没有欠税，也没被吊销")."""
        table = KeywordTable(((w, e.key, True) for e in exclusions for w in e.keywords), self.language.negations)
        result: Dict[str, bool] = {}
        for hit in table.scan(text):
            for key, _ in hit.targets:
                result[key] = not hit.negated
        return result

    def labels(self, key: str) -> Dict[Any, str]:
        return {value: words.label for value, words in self.language.conditions[key].values.items()}


@lru_cache(maxsize=2)
def default_reader() -> Reader:
    from core.materials.schema import load_knowledge

    return Reader(load_knowledge().conditions)
