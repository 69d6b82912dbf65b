"""Normalising what users type (pure functions, no Rasa imports: the action server uses them too).

Users write on phones: Traditional characters, Cantonese, full-width letters, typos and homophones (注消,
营业执找, 个提户), pasted HTML, very long run-on text. ``normalize_text`` turns all of that into plain Simplified
Mandarin:

1. Unicode NFKC (full-width → half-width), HTML tags and script/style blocks removed;
2. Traditional → Simplified with OpenCC (``t2s``);
3. Cantonese words and common typos → Mandarin, from ``knowledge/lexicon/*.tsv`` (longest match first);
4. Latin letters lower-cased, whitespace collapsed, the text cut to ``max_chars`` (its beginning and its end).
"""

from __future__ import annotations

import html
import re
import unicodedata
from functools import lru_cache
from pathlib import Path
from typing import Dict, Optional, Tuple

LEXICON_DIR = Path(__file__).resolve().parent.parent / "knowledge" / "lexicon"
_SCRIPT = re.compile(r"<(script|style)\b.*?(</\1\s*>|$)", re.IGNORECASE | re.DOTALL)
_TAG = re.compile(r"<[^<>]{0,200}>")
_SPACE = re.compile(r"\s+")
_REPEATED_MARK = re.compile(r"([^\w\s])\1+")
_REPEATED_CHAR = re.compile(r"(\w)\1{3,}")
_CONTENT = re.compile(r"[\w\u3400-\u9fff]", re.UNICODE)
# What an empty, punctuation- or emoji-only message becomes: one token without letters, so the featurizers and
# the classifier get a well-formed input and bot.nlu_components.input_guard.InputGuard recognises it.
NO_CONTENT_MARK = "∅"


def has_content(text: str) -> bool:
    return bool(_CONTENT.search(text or ""))


@lru_cache(maxsize=4)
def load_lexicon(directory: str = str(LEXICON_DIR)) -> Tuple[Tuple[str, str], ...]:
    """(from, to) pairs of every ``*.tsv`` in ``directory``, longest ``from`` first."""
    pairs: Dict[str, str] = {}
    for path in sorted(Path(directory).glob("*.tsv")):
        for line in path.read_text(encoding="utf-8").splitlines():
            if not line.strip() or line.startswith("#"):
                continue
            source, _, target = line.partition("\t")
            if source.strip():
                pairs[source.strip()] = target.strip()
    return tuple(sorted(pairs.items(), key=lambda kv: len(kv[0]), reverse=True))


@lru_cache(maxsize=1)
def _converter():
    import opencc

    return opencc.OpenCC("t2s")


def _replace_lexicon(text: str, lexicon: Tuple[Tuple[str, str], ...]) -> str:
    if not lexicon:
        return text
    pattern = _lexicon_pattern(lexicon)
    table = dict(lexicon)
    return pattern.sub(lambda m: table[m.group(0)], text)


@lru_cache(maxsize=4)
def _lexicon_pattern(lexicon: Tuple[Tuple[str, str], ...]) -> re.Pattern[str]:
    return re.compile("|".join(re.escape(source) for source, _ in lexicon))


def head_and_tail(text: str, limit: int) -> str:
    """``text`` cut to ``limit`` characters, keeping its beginning and its end: in a long case description the
    question usually comes last ("…欠了房租，执照也丢了，现在想注销要登报吗？")."""
    if len(text) <= limit:
        return text
    if limit < 60:
        return text[:limit]
    tail = limit // 3
    head = max(0, limit - tail - 3)
    return f"{text[:head]} … {text[len(text) - tail:]}"


def normalize_text(text: Optional[str], max_chars: int = 2000, lexicon_dir: str = str(LEXICON_DIR)) -> str:
    """The normalised form of ``text`` (pure function, also used by the action server and the tests)."""
    if not text:
        return ""
    text = head_and_tail(text, max_chars * 4)
    text = unicodedata.normalize("NFKC", text)
    text = _SCRIPT.sub(" ", text)
    text = _TAG.sub(" ", text)
    text = html.unescape(text)
    text = _converter().convert(text)
    text = _replace_lexicon(text, load_lexicon(lexicon_dir))
    text = _REPEATED_MARK.sub(r"\1", text)  # "？？？？" → "？"
    text = _REPEATED_CHAR.sub(r"\1\1\1", text)  # "啊啊啊啊啊" → "啊啊啊"
    text = _SPACE.sub(" ", text.lower()).strip()
    return head_and_tail(text, max_chars)
