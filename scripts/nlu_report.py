"""Print the held-out NLU figures from a `rasa test` results folder and fail under the goal.

Usage: python scripts/nlu_report.py results   (goal: NLU_MIN_MACRO_F1, default 0.95)
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path


def main(results: str = "results") -> int:
    report = json.loads((Path(results) / "intent_report.json").read_text(encoding="utf-8"))
    macro = report["macro avg"]
    goal = float(os.environ.get("NLU_MIN_MACRO_F1", "0.95"))
    weakest = sorted(
        ((name, v["f1-score"]) for name, v in report.items() if isinstance(v, dict) and "support" in v
         and name not in {"macro avg", "weighted avg", "micro avg"}),
        key=lambda item: item[1],
    )[:5]
    print(f"Held-out NLU (tests/nlu/): intent macro-F1 {macro['f1-score']:.3f} "
          f"(precision {macro['precision']:.3f}, recall {macro['recall']:.3f}, {macro['support']} examples); "
          f"goal {goal:.2f}")
    print("  weakest intents: " + ", ".join(f"{name} {f1:.2f}" for name, f1 in weakest))
    return 0 if macro["f1-score"] >= goal else 1


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:]))
