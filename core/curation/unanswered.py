"""Messages the bot could not answer (it fell back, found them out of scope, or handed them to an officer — the
question of each hand-off ticket is copied in), grouped by similarity so staff see which questions come up again
and again, and turned into draft entries in one step.

Grouping: each message becomes a TF-IDF vector over the same tokens the FAQ retrieval uses
(``core.knowledge.search.tokens``: words, characters and character bigrams of the normalised text), with the word
weights fitted on the messages together with the knowledge base's questions so that they do not swing with a
handful of messages; average-linkage clustering then joins groups while their mean cosine similarity is at least
``GROUP_THRESHOLD``. Identical messages (after normalisation) always share a group. 5,000 messages group in about
a second.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Dict, List, Optional, Sequence, Tuple

from sqlalchemy import select

from core.curation.repository import Actor, Change, CurationRepository, NotFound, now
from core.knowledge.models import UnansweredQuestion
from core.knowledge.schema import MAX_PARAPHRASE, MAX_PARAPHRASES, MAX_QUESTION
from core.logs import mask_personal

GROUP_THRESHOLD = 0.35
SETTING_HANDOFFS_UPTO = "handoffs_imported_upto"  # id of the last hand-off ticket copied in
# a draft goes to the topic of the closest entry when it is at least this close, else to the staff topic
TOPIC_THRESHOLD = 0.5
MAX_MESSAGES = 5000
MAX_CLUSTERED = 2000  # distinct wordings clustered (the most frequent); the rest stay groups of their own
REASON_LABELS = {"fallback": "没听懂", "out_of_scope": "超出范围", "handoff": "转人工"}
_BARS = "▁▂▃▄▅▆▇█"


@dataclass
class Bucket:
    label: str
    start: datetime
    count: int = 0


@dataclass
class QuestionGroup:
    ids: List[int]
    texts: List[Tuple[str, int]]  # distinct texts, most frequent first
    reasons: Dict[str, int]
    first_at: datetime
    last_at: datetime
    buckets: List[int] = field(default_factory=list)
    suggestion: Optional[Tuple[str, str, float]] = None  # (entry id, question, score) of the closest entry

    @property
    def count(self) -> int:
        return len(self.ids)

    @property
    def representative(self) -> str:
        return self.texts[0][0]

    @property
    def sparkline(self) -> str:
        return sparkline(self.buckets)


@dataclass
class UnansweredReport:
    groups: List[QuestionGroup]
    buckets: List[Bucket]
    total: int
    days: int

    @property
    def sparkline(self) -> str:
        return sparkline([b.count for b in self.buckets])


def sparkline(counts: Sequence[int]) -> str:
    top = max(counts, default=0)
    if top == 0:
        return _BARS[0] * len(counts)
    return "".join(_BARS[0] if c == 0 else _BARS[min(len(_BARS) - 1, 1 + (c * (len(_BARS) - 2)) // top)] for c in counts)


def _buckets(days: int, moment: datetime) -> List[Bucket]:
    """Day buckets for up to two weeks, else week buckets, oldest first (times in UTC, labels in China time)."""
    from zoneinfo import ZoneInfo

    from core.settings import get_settings

    tz = ZoneInfo(get_settings().timezone)
    local_now = moment.replace(tzinfo=ZoneInfo("UTC")).astimezone(tz)
    today = local_now.replace(hour=0, minute=0, second=0, microsecond=0)
    step = timedelta(days=1) if days <= 14 else timedelta(days=7)
    count = days if days <= 14 else (days + 6) // 7
    first = today - step * (count - 1)
    result = []
    for i in range(count):
        start = first + step * i
        label = start.strftime("%m-%d") if step.days == 1 else start.strftime("%m-%d 起")
        result.append(Bucket(label, start.astimezone(ZoneInfo("UTC")).replace(tzinfo=None)))
    return result


def _bucket_index(buckets: List[Bucket], at: datetime) -> int:
    index = 0
    for i, bucket in enumerate(buckets):
        if at >= bucket.start:
            index = i
    return index


def group_texts(
    texts: Sequence[str], background: Sequence[str] = (), threshold: float = GROUP_THRESHOLD
) -> List[List[int]]:
    """Indices of ``texts`` grouped by similarity (largest groups first). ``background`` (the knowledge base's
    questions) only steadies the word weights: words every registration question shares weigh less."""
    import numpy as np
    from sklearn.feature_extraction.text import TfidfVectorizer

    from core.knowledge.search import tokens
    from core.text import normalize_text

    if not texts:
        return []
    keys: Dict[str, List[int]] = {}
    for i, text in enumerate(texts):
        keys.setdefault(normalize_text(text, max_chars=300) or text, []).append(i)
    distinct = sorted(keys, key=lambda k: -len(keys[k]))
    vectorizer = TfidfVectorizer(analyzer=tokens, sublinear_tf=True)
    try:
        vectorizer.fit(list(background) + distinct)
        matrix = vectorizer.transform(distinct)
    except ValueError:  # no tokens at all (emoji, punctuation)
        return sorted(keys.values(), key=len, reverse=True)
    # average-linkage clustering over cosine similarities (TF-IDF rows are unit length, so a dot product is the
    # cosine); messages with no usable words, and any beyond MAX_CLUSTERED, stay groups of their own
    rows = [i for i in range(len(distinct)) if matrix[i].nnz][:MAX_CLUSTERED]
    members: Dict[int, List[int]] = {}
    if len(rows) > 1:
        from scipy.cluster.hierarchy import fcluster, linkage
        from scipy.spatial.distance import squareform

        similarity = (matrix[rows] @ matrix[rows].T).toarray()
        distance = np.clip(1.0 - similarity, 0.0, 2.0)
        np.fill_diagonal(distance, 0.0)
        tree = linkage(squareform(distance, checks=False), method="average")
        labels = fcluster(tree, t=1.0 - threshold, criterion="distance")
        for row, label in zip(rows, labels, strict=True):
            members.setdefault(int(label), []).extend(keys[distinct[row]])
    clustered = set(rows) if len(rows) > 1 else set()
    groups = list(members.values()) + [keys[distinct[i]] for i in range(len(distinct)) if i not in clustered]
    return sorted((sorted(g) for g in groups), key=lambda g: (-len(g), g[0]))


def import_handoffs(session) -> int:
    """Copy the questions of hand-off tickets opened since the last call into the unanswered questions (reason
    "handoff": only the one-line summary the user gave, never who they are); returns how many. The position is kept
    in a setting and advanced with a compare-and-set, so two reports at once never copy a ticket twice."""
    from sqlalchemy import update

    from core.accounts.models import Setting
    from core.handoff.models import Ticket

    row = session.get(Setting, SETTING_HANDOFFS_UPTO)
    if row is None:
        row = Setting(key=SETTING_HANDOFFS_UPTO, value="0", updated_at=now(), updated_by="system")
        session.add(row)
        session.flush()
    upto = int(row.value or 0)
    tickets = list(session.execute(select(Ticket).where(Ticket.id > upto).order_by(Ticket.id).limit(1000)).scalars())
    if not tickets:
        return 0
    claimed = session.execute(
        update(Setting)
        .where(Setting.key == SETTING_HANDOFFS_UPTO, Setting.value == str(upto))
        .values(value=str(tickets[-1].id), updated_at=now())
        .execution_options(synchronize_session=False)
    ).rowcount
    if not claimed:
        return 0
    for ticket in tickets:
        text = " ".join((ticket.summary or "").split())[:500]
        if text:
            session.add(UnansweredQuestion(text=mask_personal(text), reason="handoff", created_at=ticket.created_at))
    session.flush()
    return len(tickets)


def unanswered_report(session, days: int = 30, reason: str = "", suggest: bool = True) -> UnansweredReport:
    """The open (not yet turned into an entry) unanswered messages of the last ``days`` days, grouped; questions of
    new hand-off tickets are added first."""
    days = max(1, min(int(days), 365))
    import_handoffs(session)
    moment = now()
    buckets = _buckets(days, moment)
    query = select(UnansweredQuestion).where(
        UnansweredQuestion.resolved_entry_id.is_(None), UnansweredQuestion.created_at >= buckets[0].start
    )
    if reason:
        query = query.where(UnansweredQuestion.reason == reason)
    rows = list(session.execute(query.order_by(UnansweredQuestion.id.desc()).limit(MAX_MESSAGES)).scalars())
    for row in rows:
        buckets[_bucket_index(buckets, row.created_at)].count += 1
    groups = []
    for indices in group_texts([r.text for r in rows], _background(session)):
        members = [rows[i] for i in indices]
        counts = Counter(r.text for r in members)
        texts = sorted(counts.items(), key=lambda item: (-item[1], len(item[0])))
        per_bucket = [0] * len(buckets)
        for r in members:
            per_bucket[_bucket_index(buckets, r.created_at)] += 1
        groups.append(
            QuestionGroup(
                ids=sorted(r.id for r in members),
                texts=texts,
                reasons=dict(Counter(r.reason for r in members)),
                first_at=min(r.created_at for r in members),
                last_at=max(r.created_at for r in members),
                buckets=per_bucket,
            )
        )
    groups.sort(key=lambda g: (-g.count, -g.last_at.timestamp()))
    if suggest and groups:
        _suggest(session, groups[:100])
    return UnansweredReport(groups, buckets, len(rows), days)


def _background(session) -> List[str]:
    from core.knowledge.repository import KnowledgeRepository

    return [text for a in KnowledgeRepository(session).published_answers() for text in (a.question, *a.paraphrases)]


def _suggest(session, groups: List[QuestionGroup]) -> None:
    """The closest published entry for each group, so staff can see whether a paraphrase is all that is missing."""
    from core.knowledge.repository import KnowledgeRepository
    from core.knowledge.search import SUGGEST_THRESHOLD, faq_search

    kb = KnowledgeRepository(session)
    for group in groups:
        matches = faq_search.search(kb, group.representative, limit=1)
        if matches and matches[0].score >= SUGGEST_THRESHOLD:
            group.suggestion = (matches[0].answer.id, matches[0].answer.question, round(matches[0].score, 2))


def draft_from_group(repo: CurationRepository, ids: Sequence[int], actor: Actor) -> Change:
    """A draft entry whose question is the group's most frequent message and whose paraphrases are the others;
    the messages are marked as turned into that entry, so the group leaves the list."""
    wanted = sorted({int(i) for i in ids})[:MAX_MESSAGES]
    rows = list(
        repo.session.execute(
            select(UnansweredQuestion).where(
                UnansweredQuestion.id.in_(wanted), UnansweredQuestion.resolved_entry_id.is_(None)
            )
        ).scalars()
    ) if wanted else []
    if not rows:
        raise NotFound("这组问题已经处理过了（可能已被同事转为草稿），请刷新页面。")
    counts = Counter(" ".join(r.text.split()) for r in rows)
    texts = [t for t, _n in sorted(counts.items(), key=lambda item: (-item[1], len(item[0])))]
    question = texts[0][:MAX_QUESTION]
    paraphrases = [t for t in texts[1:] if len(t) <= MAX_PARAPHRASE][:MAX_PARAPHRASES]
    topic = _topic_for(repo, question)
    change = repo.create(
        {"topic_id": topic, "question": question, "paraphrases": paraphrases, "status": "draft"},
        actor,
        note=f"由 {len(rows)} 条未回答的问题生成",
    )
    for row in rows:
        row.resolved_entry_id = change.entry.id
    return change


def _topic_for(repo: CurationRepository, question: str) -> str:
    from core.knowledge.repository import KnowledgeRepository
    from core.knowledge.search import faq_search

    matches = faq_search.search(KnowledgeRepository(repo.session), question, limit=1)
    if matches and matches[0].score >= TOPIC_THRESHOLD:
        return matches[0].answer.topic
    return repo.staff_topic().id
