"""Reading which materials a user has from free text, with a spaCy pipeline built from the knowledge base.

Pipeline (configured in knowledge/materials/extraction.yml, names from vocabulary.yml):
  normalise (Traditional → Simplified, Cantonese → Mandarin, typos) → blank ``zh`` with the jieba segmenter →
  ``entity_ruler`` (one phrase pattern per material name, id = canonical name) → ``material_typos`` (a name
  written with one wrong character) → ``material_polarity`` (has / lacks / mention, see ``assign_polarity``).

Nothing is built at import: the pipeline is made on first use (``get_extractor().extract(...)``), after jieba's
user dictionary (bot/jieba_dict) is loaded - spaCy's jieba segmenter uses the process-wide jieba, and a dictionary
loaded after the patterns were tokenised would silently stop them matching.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Dict, Iterable, List, Sequence, Tuple

from core.materials.schema import ExtractionFile, MaterialsKnowledge, load_knowledge
from core.settings import PROJECT_ROOT

log = logging.getLogger(__name__)

JIEBA_DICT_DIR = PROJECT_ROOT / "bot" / "jieba_dict"
MAX_CHARS = 2000

HAS = "has"
LACKS = "lacks"
MENTION = "mention"
_EXCEPT = "except"
_YES_NO_ENDINGS = ("吗", "么", "嘛")
_WH_ENDINGS = ("什么", "怎么", "那么", "这么", "多么")


@dataclass(frozen=True)
class Mention:
    """A material named in the text: its canonical name, the words used, where, and what the user said about it."""

    material: str
    text: str
    start: int
    end: int
    polarity: str


# --- polarity (pure) --------------------------------------------------------------------------------------------


class _Cues:
    """Longest-first, non-overlapping matching of the cue words of extraction.yml."""

    def __init__(self, config: ExtractionFile) -> None:
        table: Dict[str, str] = {}
        for kind in ("mention", "has", "lacks", "except"):
            for word in config.cues[kind]:
                table.setdefault(word, kind)
        self.table = table
        self.lengths = sorted({len(w) for w in table}, reverse=True)

    def find(self, window: str) -> List[Tuple[int, str]]:
        found: List[Tuple[int, str]] = []
        i = 0
        while i < len(window):
            for length in self.lengths:
                kind = self.table.get(window[i : i + length])
                if kind:
                    found.append((i, kind))
                    i += length
                    break
            else:
                i += 1
        return found


def _strip_words(text: str, words: Sequence[str]) -> str:
    for word in sorted(words, key=len, reverse=True):
        text = text.replace(word, "")
    return text.strip()


def _clauses(text: str, spans: Sequence[Tuple[int, int]], breaks: Sequence[str]) -> List[Tuple[int, int]]:
    """(start, end) of each clause; a break inside a material name does not count."""
    covered = set()
    for start, end in spans:
        covered.update(range(start, end))
    cuts: List[Tuple[int, int]] = []
    i = 0
    ordered = sorted(breaks, key=len, reverse=True)
    while i < len(text):
        for word in ordered:
            if text.startswith(word, i) and i not in covered:
                cuts.append((i, i + len(word)))
                i += len(word)
                break
        else:
            i += 1
    clauses, start = [], 0
    for cut_start, cut_end in cuts:
        clauses.append((start, cut_start))
        start = cut_end
    clauses.append((start, len(text)))
    return clauses


def assign_polarity(text: str, spans: Sequence[Tuple[int, int]], config: ExtractionFile) -> List[str]:
    """has / lacks / mention for each (start, end) span of a material name in ``text`` (see extraction.yml)."""
    cues = _Cues(config)
    order = sorted(range(len(spans)), key=lambda k: spans[k][0])
    result = [HAS] * len(spans)
    everything_else = any(word in text for word in config.all_else_present)
    for clause_start, clause_end in _clauses(text, spans, config.clause_breaks):
        members = [k for k in order if clause_start <= spans[k][0] < clause_end]
        if not members:
            continue
        clause = text[clause_start:clause_end]
        is_question = any(mark in clause for mark in config.question_marks)
        ending = clause.rstrip(" ?？")
        yes_no_question = ending.endswith(_YES_NO_ENDINGS) and not ending.endswith(_WH_ENDINGS)
        # chains: names joined only by connectors share one polarity
        chains: List[List[int]] = []
        for k in members:
            if chains:
                gap = text[spans[chains[-1][-1]][1] : spans[k][0]]
                if not _strip_words(gap, list(config.connectors) + list(config.fillers)):
                    chains[-1].append(k)
                    continue
            chains.append([k])
        for c, chain in enumerate(chains):
            first, last = spans[chain[0]], spans[chain[-1]]
            pre_start = spans[chains[c - 1][-1]][1] if c else clause_start
            post_end = spans[chains[c + 1][0]][0] if c + 1 < len(chains) else clause_end
            pre = cues.find(text[pre_start : first[0]])
            after = cues.find(text[last[1] : min(post_end, last[1] + config.post_window)])
            post = [k for k in after if k[1] in (HAS, LACKS)]
            pre_kind = pre[-1][1] if pre else None
            post_kind = post[0][1] if post else None
            post_mention = bool(after) and after[0][1] == MENTION
            is_last = c + 1 == len(chains)
            if pre_kind == _EXCEPT:
                kind = pre_kind
            elif post_kind and (is_last or not pre_kind):
                kind = post_kind
            elif pre_kind:
                kind = pre_kind
            elif post_mention:
                kind = MENTION
            else:
                kind = MENTION if is_question else HAS
            if kind == _EXCEPT:
                kind = LACKS if everything_else else HAS
            if kind == HAS and yes_no_question and kind == post_kind:
                kind = MENTION
            for k in chain:
                result[k] = kind
    return result


# --- typos (pure) -----------------------------------------------------------------------------------------------


class _TypoIndex:
    """Names written with exactly one wrong character: a substitution leaves one half of the name intact."""

    def __init__(self, names: Dict[str, str], min_length: int) -> None:
        self.by_half: Dict[Tuple[int, int, str], List[str]] = {}
        self.canonical = names
        self.lengths = sorted({len(n) for n in names if len(n) >= min_length}, reverse=True)
        for name in names:
            if len(name) < min_length:
                continue
            half = len(name) // 2
            self.by_half.setdefault((len(name), 0, name[:half]), []).append(name)
            self.by_half.setdefault((len(name), 1, name[half:]), []).append(name)

    def find(self, text: str, taken: Iterable[Tuple[int, int]]) -> List[Tuple[int, int, str]]:
        busy = set()
        for start, end in taken:
            busy.update(range(start, end))
        found: List[Tuple[int, int, str]] = []
        i = 0
        while i < len(text):
            hit = None
            for length in self.lengths:
                window = text[i : i + length]
                if len(window) < length or busy.intersection(range(i, i + length)):
                    continue
                half = length // 2
                candidates = self.by_half.get((length, 0, window[:half]), []) + self.by_half.get(
                    (length, 1, window[half:]), []
                )
                for name in candidates:
                    if sum(a != b for a, b in zip(name, window, strict=True)) == 1 and window[0] not in "，。,.;；！？!?":
                        hit = (i, i + length, self.canonical[name])
                        break
                if hit:
                    break
            if hit:
                found.append(hit)
                i = hit[1]
            else:
                i += 1
        return found


# --- the spaCy pipeline ------------------------------------------------------------------------------------------

_registered = False
_register_lock = threading.Lock()


def _register_components() -> None:
    """Register the two custom spaCy components (once per process, on first build)."""
    global _registered
    with _register_lock:
        if _registered:
            return
        from spacy.language import Language
        from spacy.tokens import Doc, Span

        Span.set_extension("polarity", default=None, force=True)
        Doc.set_extension("material_config", default=None, force=True)

        @Language.factory("material_typos", default_config={})
        def _make_typos(nlp, name):  # noqa: ANN001
            return _TypoComponent()

        @Language.factory("material_polarity", default_config={})
        def _make_polarity(nlp, name):  # noqa: ANN001
            return _PolarityComponent()

        _registered = True


class _TypoComponent:
    index: _TypoIndex | None = None
    label = "MATERIAL"

    def __call__(self, doc):  # noqa: ANN001
        if self.index is None:
            return doc
        from spacy.tokens import Span

        taken = [(e.start_char, e.end_char) for e in doc.ents]
        extra = []
        for start, end, canonical in self.index.find(doc.text, taken):
            span = doc.char_span(start, end, label=self.label, alignment_mode="expand")
            if span is None or span.end_char - span.start_char > end - start + 1:
                continue
            extra.append(Span(doc, span.start, span.end, label=self.label, span_id=canonical))
        if extra:
            spans = sorted(list(doc.ents) + extra, key=lambda s: s.start)
            kept, last_end = [], -1
            for span in spans:
                if span.start >= last_end:
                    kept.append(span)
                    last_end = span.end
            doc.ents = kept
        return doc


class _PolarityComponent:
    config: ExtractionFile | None = None

    def __call__(self, doc):  # noqa: ANN001
        ents = list(doc.ents)
        if not ents or self.config is None:
            return doc
        polarities = assign_polarity(doc.text, [(e.start_char, e.end_char) for e in ents], self.config)
        for ent, polarity in zip(ents, polarities, strict=True):
            ent._.polarity = polarity
        return doc


def load_jieba_dictionary(directory: Path = JIEBA_DICT_DIR, extra_words: Iterable[str] = ()) -> None:
    """Load every file of the jieba user dictionary folder, then ``extra_words`` - before any spaCy pipeline."""
    import jieba

    jieba.setLogLevel(logging.WARNING)
    for path in sorted(directory.glob("*")):
        if path.is_file():
            jieba.load_userdict(str(path))
    for word in extra_words:
        if len(word) >= 2 and " " not in word:
            jieba.add_word(word, freq=2000)


def build_pipeline(knowledge: MaterialsKnowledge, jieba_dict_dir: Path = JIEBA_DICT_DIR):
    """The spaCy pipeline for ``knowledge`` (blank zh + jieba, entity ruler, typo and polarity components)."""
    vocabulary = knowledge.vocabulary.materials
    config = knowledge.extraction
    names = {name: canonical for canonical, synonyms in vocabulary.items() for name in [canonical, *synonyms]}
    load_jieba_dictionary(jieba_dict_dir, names)  # first: the segmenter below uses this jieba
    import spacy

    _register_components()
    nlp = spacy.blank("zh", config={"nlp": {"tokenizer": {"segmenter": "jieba"}}})
    ruler = nlp.add_pipe("entity_ruler", config={"overwrite_ents": True})
    ruler.add_patterns([{"label": config.label, "pattern": name, "id": canonical} for name, canonical in names.items()])
    typos = nlp.add_pipe("material_typos")
    typos.index = _TypoIndex(names, config.typo_min_length)
    typos.label = config.label
    polarity = nlp.add_pipe("material_polarity")
    polarity.config = config
    return nlp


class MaterialExtractor:
    """What a message says about each material. Build it once per process (``get_extractor()``)."""

    def __init__(self, knowledge: MaterialsKnowledge | None = None, jieba_dict_dir: Path = JIEBA_DICT_DIR) -> None:
        self._knowledge = knowledge
        self._jieba_dict_dir = jieba_dict_dir
        self._nlp = None
        self._lock = threading.Lock()

    @property
    def knowledge(self) -> MaterialsKnowledge:
        if self._knowledge is None:
            self._knowledge = load_knowledge()
        return self._knowledge

    @property
    def nlp(self):
        with self._lock:
            if self._nlp is None:
                self._nlp = build_pipeline(self.knowledge, self._jieba_dict_dir)
            return self._nlp

    @staticmethod
    def normalise(text: str | None) -> str:
        from core.text import normalize_text

        return normalize_text(text or "", MAX_CHARS)

    def extract(self, text: str | None, normalised: bool = False) -> List[Mention]:
        """Every material named in ``text``, in order, with what the user said about it."""
        clean = text if normalised else self.normalise(text)
        if not clean:
            return []
        doc = self.nlp(clean[:MAX_CHARS])
        return [
            Mention(ent.id_ or ent.text, ent.text, ent.start_char, ent.end_char, ent._.polarity or HAS)
            for ent in doc.ents
            if ent.label_ == self.knowledge.extraction.label
        ]

    def held_changes(self, text: str | None, normalised: bool = False) -> Dict[str, bool]:
        """material → True (says they have it) / False (says they lack it); mentions in questions are left out."""
        changes: Dict[str, bool] = {}
        for mention in self.extract(text, normalised):
            if mention.polarity == HAS:
                changes[mention.material] = True
            elif mention.polarity == LACKS:
                changes[mention.material] = False
        return changes


_extractor: MaterialExtractor | None = None
_extractor_lock = threading.Lock()


def get_extractor() -> MaterialExtractor:
    """The process-wide extractor; its spaCy pipeline is built on the first ``extract``."""
    global _extractor
    with _extractor_lock:
        if _extractor is None:
            _extractor = MaterialExtractor()
        return _extractor
