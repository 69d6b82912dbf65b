"""No held-out real question (tests/realq/*.yml, items without `split: dev`) is in the training data, not even as
a near-copy. Training data: NLU examples (data/nlu/**/*.yml, annotations stripped), the knowledge entries'
questions and paraphrases (knowledge/answers/*.yml) and any `examples` in knowledge/materials/*.yml.
tests/nlu and tests/faq are held-out sets themselves, not training, and are not checked.

Near-copy, after normalising (Traditional->Simplified, punctuation/spaces/emoji removed, lower case): equal; one
contains the other and the contained one has >= 8 characters; or character-bigram Jaccard >= 0.7 when both have
>= 6 characters.
"""

from __future__ import annotations

import re
import unicodedata
from collections import defaultdict
from pathlib import Path
from typing import Any, Dict, Iterator, List, Set, Tuple

import opencc
import yaml

from scripts.realq_report import load_items
from scripts.stack import ROOT

CONTAIN_MIN = 8
JACCARD_MIN = 0.7
JACCARD_MIN_LEN = 6

_t2s = opencc.OpenCC("t2s")
_ANNOTATION = re.compile(r"\[([^\]]*)\](?:\([^)]*\)|\{[^}]*\})")


def normalise(text: str) -> str:
    text = _t2s.convert(str(text)).lower()
    return "".join(ch for ch in text if unicodedata.category(ch)[0] in "LN")


def bigrams(text: str) -> Set[str]:
    return {text[i : i + 2] for i in range(len(text) - 1)}


def _nlu_examples(path: Path) -> Iterator[str]:
    for block in (yaml.safe_load(path.read_text(encoding="utf-8")) or {}).get("nlu") or []:
        if not isinstance(block, dict) or "regex" in block or not isinstance(block.get("examples"), str):
            continue
        for line in block["examples"].splitlines():
            line = line.strip()
            if line.startswith("- "):
                yield _ANNOTATION.sub(r"\1", line[2:])


def _key_values(node: Any, keys: Tuple[str, ...]) -> Iterator[str]:
    """Strings held under any of ``keys`` anywhere in a YAML tree (a string, a list of strings, or '- ' lines)."""
    if isinstance(node, dict):
        for key, value in node.items():
            if key in keys:
                if isinstance(value, str):
                    lines = [ln.strip()[2:] for ln in value.splitlines() if ln.strip().startswith("- ")]
                    yield from lines or [value]
                elif isinstance(value, list):
                    yield from (str(v) for v in value if isinstance(v, (str, int, float)))
            yield from _key_values(value, keys)
    elif isinstance(node, list):
        for value in node:
            yield from _key_values(value, keys)


def training_texts() -> List[Tuple[str, str]]:
    """(where, text) for every training string."""
    texts: List[Tuple[str, str]] = []
    for path in sorted((ROOT / "data" / "nlu").rglob("*.yml")):
        texts += [(str(path.relative_to(ROOT)), text) for text in _nlu_examples(path)]
    for folder, keys in (("answers", ("question", "paraphrases")), ("materials", ("examples",))):
        for path in sorted((ROOT / "knowledge" / folder).glob("*.yml")):
            tree = yaml.safe_load(path.read_text(encoding="utf-8"))
            texts += [(str(path.relative_to(ROOT)), text) for text in _key_values(tree, keys)]
    return texts


def near_copies(questions: List[Dict[str, Any]], texts: List[Tuple[str, str]]) -> List[str]:
    normal = [normalise(text) for _, text in texts]
    exact: Dict[str, List[int]] = defaultdict(list)
    index: Dict[str, List[int]] = defaultdict(list)
    grams = []
    for number, text in enumerate(normal):
        exact[text].append(number)
        grams.append(bigrams(text))
        for gram in grams[-1]:
            index[gram].append(number)
    found = []
    for item in questions:
        question = normalise(item["question"])
        mine = bigrams(question)
        shared: Dict[int, int] = defaultdict(int)
        for gram in mine:
            for number in index.get(gram, ()):
                shared[number] += 1
        hits = {number: "equal" for number in exact.get(question, ()) if question}
        for number, common in shared.items():
            if number in hits:
                continue
            text = normal[number]
            shorter, longer = (text, question) if len(text) <= len(question) else (question, text)
            if len(shorter) >= CONTAIN_MIN and common == len(bigrams(shorter)) and shorter in longer:
                hits[number] = "contains"
            elif min(len(text), len(question)) >= JACCARD_MIN_LEN:
                jaccard = common / (len(mine) + len(grams[number]) - common)
                if jaccard >= JACCARD_MIN:
                    hits[number] = f"jaccard {jaccard:.2f}"
        for number, why in sorted(hits.items()):
            where, text = texts[number]
            found.append(f"{item['file']}:{item['id']} 「{item['question']}」 ~ {where} 「{text}」 ({why})")
    return found


def test_normalising_and_near_copy_rules():
    assert normalise("營業執照 怎麼辦？😀 ABC") == "营业执照怎么办abc"
    texts = [("t", "公司法人想换一下要带什么资料"), ("t", "注销"), ("t", "完全无关的一句话内容")]
    questions = [
        {"file": "x", "id": "1", "question": "請問，公司法人想換一下要帶什麼資料去辦"},  # contains (>= 8)
        {"file": "x", "id": "2", "question": "注销！"},  # equal
        {"file": "x", "id": "3", "question": "个体户能不能注销"},  # contains only 2 chars: not a copy
    ]
    found = near_copies(questions, texts)
    assert len(found) == 2 and "x:1" in found[0] and "x:2" in found[1]


def test_no_held_out_real_question_is_in_the_training_data():
    held_out = [item for item in load_items() if item.get("split") != "dev"]
    texts = training_texts()
    assert held_out and len(texts) > 1000
    found = near_copies(held_out, texts)
    assert not found, f"{len(found)} held-out question(s) leak into training data:\n" + "\n".join(found)
