"""Precision and recall of the material extractor on the held-out set; exits non-zero below the goal.

Usage: python scripts/materials_report.py [tests/materials/extraction_heldout.yml] [--verbose]
Goal: MATERIALS_MIN_PRECISION / MATERIALS_MIN_RECALL (default 0.95 each). A prediction counts when both the
material and what the user said about it (has / lacks) match the annotation.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
import warnings
from pathlib import Path
from typing import Dict, List, Set, Tuple

import yaml

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
DEFAULT_SET = ROOT / "tests" / "materials" / "extraction_heldout.yml"

Pair = Tuple[str, str]


def gold_pairs(example: Dict) -> Set[Pair]:
    return {(m, "has") for m in example.get("has") or []} | {(m, "lacks") for m in example.get("lacks") or []}


def evaluate(examples: List[Dict]) -> Dict:
    from core.materials.extraction import get_extractor

    extractor = get_extractor()
    tp = fp = fn = 0
    errors = []
    for example in examples:
        predicted = {(m, "has" if held else "lacks") for m, held in extractor.held_changes(example["text"]).items()}
        gold = gold_pairs(example)
        tp += len(predicted & gold)
        fp += len(predicted - gold)
        fn += len(gold - predicted)
        if predicted != gold:
            errors.append((example["text"], sorted(predicted - gold), sorted(gold - predicted)))
    precision = tp / (tp + fp) if tp + fp else 1.0
    recall = tp / (tp + fn) if tp + fn else 1.0
    return {"precision": precision, "recall": recall, "tp": tp, "fp": fp, "fn": fn, "errors": errors}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("path", nargs="?", default=str(DEFAULT_SET))
    parser.add_argument("--verbose", action="store_true", help="list every sentence with a wrong reading")
    args = parser.parse_args(argv)
    logging.disable(logging.WARNING)
    warnings.filterwarnings("ignore")
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    examples = yaml.safe_load(Path(args.path).read_text(encoding="utf-8"))["sentences"]
    result = evaluate(examples)
    goal_p = float(os.environ.get("MATERIALS_MIN_PRECISION", "0.95"))
    goal_r = float(os.environ.get("MATERIALS_MIN_RECALL", "0.95"))
    print(
        f"Material extraction (held-out, {len(examples)} sentences, {result['tp'] + result['fn']} annotated "
        f"materials): precision {result['precision']:.3f}, recall {result['recall']:.3f} "
        f"(tp {result['tp']}, fp {result['fp']}, fn {result['fn']}); goal {goal_p:.2f} / {goal_r:.2f}"
    )
    if args.verbose or result["precision"] < goal_p or result["recall"] < goal_r:
        for text, wrong, missed in result["errors"]:
            print(f"  {text}\n    wrongly read: {wrong}  missed: {missed}")
    return 0 if result["precision"] >= goal_p and result["recall"] >= goal_r else 1


if __name__ == "__main__":
    sys.exit(main())
