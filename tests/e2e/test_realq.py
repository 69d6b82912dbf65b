"""Real questions people asked publicly (tests/realq/*.yml), asked of the running bot over the REST channel.

The held-out set must not get confident wrong answers: a wrong answer (an answer missing the points a correct
answer must contain, or an answer where the bot should have deferred) costs more than a deferral to an officer.
The full report is written to results/realq.json and printed (`make test` prints it again at the end).
"""

from __future__ import annotations

import pytest

from scripts.realq_report import format_report, load_items, run

# Floor for now; tighten as the bot improves.
WRONG_RATE_MAX = 0.12  # measured 10.2 % (18/176) on 2026-12-04; the goal is 2 %
# 231 held-out questions since tests/realq/d.yml: 18.6 % wrong (43/231) on 2026-12-04 04:00 — the same code
# without the matching changes of that day measured 19.9 %, so the rise came with the new questions and the new
# dialogue paths, not the matching; left at 0.12 so that it shows.
# The development split (the thresholds are chosen on it): 1.7 % (1/58) wrong on 2026-12-04.
DEV_WRONG_RATE_MAX = 0.05


def test_held_out_real_questions_get_few_wrong_answers(running_bot, capsys: pytest.CaptureFixture[str]):
    items = load_items()
    assert items, "tests/realq/*.yml holds no questions"
    report = run(running_bot.rasa_url, items)
    with capsys.disabled():
        print("\n" + format_report(report))
    overall = report["heldout"]["overall"]
    errors = [row["id"] for row in report["items"] if row["outcome"] == "error"]
    assert not errors, f"requests failed for {errors}"
    dev = report["dev"]["overall"]
    assert dev["wrong_rate"] <= DEV_WRONG_RATE_MAX, (
        f"development-split wrong-answer rate {dev['wrong_rate']:.1%} ({dev['wrong']}/{dev['total']}) "
        f"> {DEV_WRONG_RATE_MAX:.0%}"
    )
    assert overall["wrong_rate"] <= WRONG_RATE_MAX, (
        f"held-out wrong-answer rate {overall['wrong_rate']:.1%} ({overall['wrong']}/{overall['total']}) "
        f"> {WRONG_RATE_MAX:.0%}"
    )
