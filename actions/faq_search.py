"""Finding the knowledge entry closest to a free-text question, for FAQ entries curated by staff at run time.

Entries published in the console are answered at once, without retraining the NLU model: the index is rebuilt
from the database when the published knowledge changes (checked at most every ``REFRESH_SECONDS``).

Method (measured in README "FAQ retrieval"): TF-IDF over jieba words plus character bigrams of the normalised
text (Traditional → Simplified, Cantonese → Mandarin), cosine similarity, the best score over an entry's question
and paraphrases.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from functools import lru_cache
from typing import List, Optional, Sequence, Tuple

from actions.knowledge_base.repository import Answer, KnowledgeRepository

REFRESH_SECONDS = 1.0
# cosine similarity at or above which the entry is answered directly
ANSWER_THRESHOLD = 0.62
# at or above which the entry is offered as a "您是想问……" choice
SUGGEST_THRESHOLD = 0.30

_STOP = set("的 了 吗 呢 啊 吧 呀 嘛 么 请问 我 我们 你 你们 想 要 一下 是 在 有 和 与 及 就 都 还 也 这个 那个 怎么 什么 如何 可以 能 能不能 请".split())


@lru_cache(maxsize=1)
def _jieba():
    """jieba with the project's registration dictionary loaded (once per process)."""
    import jieba

    from actions.settings import PROJECT_ROOT

    jieba.setLogLevel(60)
    for path in sorted((PROJECT_ROOT / "bot" / "jieba_dict").glob("*.txt")):
        jieba.load_userdict(str(path))
    return jieba


def tokens(text: str) -> List[str]:
    """Words and character bigrams of the normalised text."""
    from bot.nlu_components.normalizer import normalize_text

    clean = normalize_text(text, max_chars=300)
    words = [w for w in _jieba().lcut(clean) if w.strip() and w not in _STOP and any(c.isalnum() for c in w)]
    chars = [c for c in clean if c.isalnum()]
    bigrams = ["".join(pair) for pair in zip(chars, chars[1:])]
    return words + bigrams


@dataclass(frozen=True)
class Match:
    answer: Answer
    score: float


class FaqIndex:
    def __init__(self, answers: Sequence[Answer]) -> None:
        from sklearn.feature_extraction.text import TfidfVectorizer

        self.answers = list(answers)
        self.owner: List[int] = []
        texts: List[str] = []
        for i, answer in enumerate(self.answers):
            for text in [answer.question, *answer.paraphrases]:
                texts.append(text)
                self.owner.append(i)
        self.vectorizer = TfidfVectorizer(analyzer=tokens, sublinear_tf=True)
        self.matrix = self.vectorizer.fit_transform(texts) if texts else None

    def search(self, text: str, limit: int = 3) -> List[Match]:
        if self.matrix is None or not text or not text.strip():
            return []
        query = self.vectorizer.transform([text])
        if query.nnz == 0:
            return []
        scores = (self.matrix @ query.T).toarray().ravel()
        best: dict = {}
        for row, score in enumerate(scores):
            i = self.owner[row]
            if score > best.get(i, 0.0):
                best[i] = float(score)
        ranked = sorted(best.items(), key=lambda item: item[1], reverse=True)[:limit]
        return [Match(self.answers[i], score) for i, score in ranked if score > 0]


class FaqSearch:
    """The process-wide index, rebuilt when the published knowledge changes."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._stamp: Optional[Tuple] = None
        self._checked = 0.0
        self._index: Optional[FaqIndex] = None

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
