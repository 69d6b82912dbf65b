"""Finding the knowledge entry closest to a free-text question.

Used when the NLU is unsure or a question is out of scope, and for FAQ entries curated by staff at run time:
those are answered at once, without retraining, because the index is rebuilt from the database whenever the
published knowledge changes (checked at most every ``REFRESH_SECONDS``).

Method (measured with scripts/faq_report.py, see README "FAQ retrieval"): TF-IDF over jieba words, single
characters and character bigrams of the normalised text (Traditional → Simplified, Cantonese → Mandarin;
characters of question words left out), cosine similarity, best score over an entry's question, paraphrases
and — for entries that answer an NLU intent — that intent's training examples in data/nlu; each clause of a
long run-on question also scores (at ``CLAUSE_WEIGHT``). A linear SVM trained on the same texts (labels: the
entries) ranks the entries discriminatively: its first choice goes first when its cosine is within
``RERANK_DELTA`` of the best, and ``Match.ranked_first`` tells core.knowledge.decide whether the ranker agrees
(measured on the dev questions and tests/faq: top-1 84 → 87 of 90 FAQ paraphrases, 21 → 25 of 40 dev questions
whose first entry is right; it costs ≈2 s per index build and well under a millisecond per question). When the
best entry answers an intent, the variant for the entity type named in the question (个体户 …) is chosen, else
the general entry.
"""

from __future__ import annotations

import re
import threading
import time
from dataclasses import dataclass
from functools import lru_cache
from typing import Dict, List, Optional, Sequence, Tuple

import numpy
import yaml

from core.knowledge.repository import Answer, KnowledgeRepository
from core.knowledge.schema import ALL
from core.settings import KNOWLEDGE_DIR, PROJECT_ROOT
from core.text import normalize_text

REFRESH_SECONDS = 1.0
# cosine similarity at or above which the entry is answered directly
ANSWER_THRESHOLD = 0.70
# at or above which the entry is offered as a "您是想问……" choice
SUGGEST_THRESHOLD = 0.30
# a staff FAQ entry (no intent) overrides the NLU's topic when it matches this closely
STAFF_OVERRIDE_THRESHOLD = 0.80
# a clause of a long run-on question counts at this weight (see ``clauses``)
CLAUSE_WEIGHT = 0.8
# the discriminative ranker's regularisation, and how far below the best cosine its first choice may be
RANKER_C = 1.0
RERANK_DELTA = 0.15

_STOP_WORDS = set(
    "的 了 吗 呢 啊 吧 呀 嘛 么 请问 我 我们 你 你们 想 要 一下 是 在 有 和 与 及 就 都 还 也 这个 那个 怎么 什么 如何 可以 能 能不能 请".split()
)
_STOP_CHARS = set("的了吗呢啊吧呀嘛么我你想要是在有和就都还也这那怎什如何可以能请一下个几多少哪些需")
_ANNOTATION = re.compile(r"\[([^\]]+)\]\([^)]*\)|\[([^\]]+)\]\{[^}]*\}")


@lru_cache(maxsize=1)
def _jieba():
    """jieba with the project's registration dictionary loaded (once per process)."""
    import jieba

    jieba.setLogLevel(60)
    for path in sorted((PROJECT_ROOT / "bot" / "jieba_dict").glob("*.txt")):
        jieba.load_userdict(str(path))
    return jieba


def tokens(text: str) -> List[str]:
    """Words, content characters and content-character bigrams of the normalised text."""
    clean = normalize_text(text, max_chars=3000)
    words = [w for w in _jieba().lcut(clean) if w.strip() and w not in _STOP_WORDS and any(c.isalnum() for c in w)]
    chars = [c for c in clean if c.isalnum()]
    content = [c for c in chars if c not in _STOP_CHARS]
    bigrams = ["".join(p) for p in zip(chars, chars[1:], strict=False) if p[0] not in _STOP_CHARS and p[1] not in _STOP_CHARS]
    return words + content + bigrams


_CLAUSE_BREAK = re.compile(r"[，,。.？?！!；;…\n]+|(?:另外|还有|但是|可是|不过|所以|请问|想问一下|想问)")


def clauses(text: str, min_chars: int = 4) -> List[str]:
    """The clauses of a long run-on question, and each pair of neighbouring clauses (empty for one clause)."""
    clean = normalize_text(text, max_chars=3000)
    parts = [p for p in _CLAUSE_BREAK.split(clean) if len([c for c in p if c.isalnum()]) >= min_chars]
    if len(parts) < 2:
        return []
    return parts + ["".join(pair) for pair in zip(parts, parts[1:], strict=False)]


@lru_cache(maxsize=1)
def intent_examples() -> Dict[str, Tuple[str, ...]]:
    """The NLU training examples of each intent (data/nlu), annotations removed."""
    examples: Dict[str, List[str]] = {}
    for path in sorted((PROJECT_ROOT / "data" / "nlu").glob("*.yml")):
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        for block in data.get("nlu") or []:
            if "intent" in block and isinstance(block.get("examples"), str):
                for line in block["examples"].splitlines():
                    line = line.strip()
                    if line.startswith("- "):
                        text = _ANNOTATION.sub(lambda m: m.group(1) or m.group(2), line[2:])
                        examples.setdefault(block["intent"], []).append(text)
    return {intent: tuple(texts) for intent, texts in examples.items()}


@lru_cache(maxsize=1)
def _entity_type_synonyms() -> Tuple[Tuple[str, str], ...]:
    glossary = yaml.safe_load((KNOWLEDGE_DIR / "glossary.yml").read_text(encoding="utf-8"))
    pairs = [(s, canonical) for canonical, synonyms in glossary["entity_types"].items() for s in [canonical, *synonyms]]
    return tuple(sorted(pairs, key=lambda p: len(p[0]), reverse=True))


def entity_type_in(text: str) -> Optional[str]:
    """The most specific entity type named in ``text`` (个体户 → 个体工商户), if any."""
    clean = normalize_text(text, max_chars=300)
    found = [(clean.find(s), -len(s), canonical) for s, canonical in _entity_type_synonyms() if s in clean]
    return min(found)[2] if found else None


@dataclass(frozen=True)
class Match:
    answer: Answer
    score: float
    # whether the entry is the discriminative ranker's first choice (None: no ranker, see FaqIndex)
    ranked_first: Optional[bool] = None


class FaqIndex:
    def __init__(self, answers: Sequence[Answer], examples: Optional[Dict[str, Sequence[str]]] = None) -> None:
        from sklearn.feature_extraction.text import TfidfVectorizer

        examples = intent_examples() if examples is None else examples
        self.answers = list(answers)
        self.owner: List[int] = []
        texts: List[str] = []
        for i, answer in enumerate(self.answers):
            own = [answer.question, *answer.paraphrases]
            if answer.intent and ALL in answer.entity_types:
                own += list(examples.get(answer.intent, ()))
            for text in own:
                texts.append(text)
                self.owner.append(i)
        self.vectorizer = TfidfVectorizer(analyzer=tokens, sublinear_tf=True)
        self.matrix = self.vectorizer.fit_transform(texts) if texts else None
        self.ranker = None
        if texts and len(set(self.owner)) > 1 and RANKER_C > 0:
            from sklearn.svm import LinearSVC

            self.ranker = LinearSVC(C=RANKER_C).fit(self.matrix, self.owner)

    def search(self, text: str, limit: int = 3) -> List[Match]:
        if self.matrix is None or not text or not text.strip():
            return []
        query = self.vectorizer.transform([text])
        if query.nnz == 0:
            return []
        scores = self._scores(query)
        # a long run-on question: the clause that asks it ("小股东想退股可以吗") also counts, a little less
        for clause in clauses(text) if CLAUSE_WEIGHT > 0 else ():
            part = self.vectorizer.transform([clause])
            if part.nnz:
                scores = numpy.maximum(scores, CLAUSE_WEIGHT * self._scores(part))
        best: Dict[int, float] = {}
        for row, score in enumerate(scores):
            i = self.owner[row]
            if score > best.get(i, 0.0):
                best[i] = float(score)
        entity_type = entity_type_in(text)
        preferred = int(self.ranker.predict(query)[0]) if self.ranker is not None else None
        order = sorted(best.items(), key=lambda item: item[1], reverse=True)
        if preferred is not None and order and preferred in best and best[preferred] >= order[0][1] - RERANK_DELTA:
            order = [(preferred, best[preferred])] + [item for item in order if item[0] != preferred]
        resolved: Dict[str, Match] = {}
        for i, score in order:
            if score <= 0:
                break
            answer = self._variant(self.answers[i], entity_type)
            if answer.id not in resolved:
                resolved[answer.id] = Match(answer, score, ranked_first=None if preferred is None else i == preferred)
            if len(resolved) >= limit:
                break
        return list(resolved.values())

    def _scores(self, query):
        """Each indexed text's cosine similarity to the query."""
        return (self.matrix @ query.T).toarray().ravel()

    def _variant(self, answer: Answer, entity_type: Optional[str]) -> Answer:
        """For an intent's entry: the variant for the named entity type, else the general entry."""
        if not answer.intent:
            return answer
        same = [a for a in self.answers if a.intent == answer.intent]
        if entity_type:
            for candidate in same:
                if entity_type in candidate.entity_types:
                    return candidate
        for candidate in same:
            if ALL in candidate.entity_types:
                return candidate
        return answer


class FaqSearch:
    """The process-wide index, rebuilt when the published knowledge changes."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._stamp: Optional[Tuple] = None
        self._checked = 0.0
        self._index: Optional[FaqIndex] = None

    def reset(self) -> None:
        """Forget the index (the database was replaced, e.g. between tests)."""
        with self._lock:
            self._stamp, self._checked, self._index = None, 0.0, None

    def index(self, kb: KnowledgeRepository) -> FaqIndex:
        now = time.monotonic()
        with self._lock:
            if self._index is None or now - self._checked >= REFRESH_SECONDS:
                self._checked = now
                stamp = kb.knowledge_stamp()
                if stamp != self._stamp or self._index is None:
                    self._index = FaqIndex(kb.published_answers())
                    self._stamp = stamp
            return self._index

    def search(self, kb: KnowledgeRepository, text: str, limit: int = 3) -> List[Match]:
        return self.index(kb).search(text, limit)


faq_search = FaqSearch()
