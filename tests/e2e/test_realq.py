"""Real questions people asked publicly (tests/realq/*.yml), asked of the running bot over the REST channel.

The held-out set must not get confident wrong answers: a wrong answer (an answer missing the points a correct
answer must contain, or an answer where the bot should have deferred) costs more than a deferral to an officer.
The full report is written to results/realq.json and printed (`make test` prints it again at the end).
"""

from __future__ import annotations

import pytest

from scripts.realq_report import format_report, load_items, run

# A ratchet, not the goal (2 %): lower it whenever the bot improves. It was raised once, when 55 questions joined
# the set and the new dialogue paths landed (below); the regression is reported, not hidden.
# History: 10.2 % (18/176) in the morning of 2026-12-04; with the 55 questions of tests/realq/d.yml (231 held out)
# 18.2 % (42/231) at 4401925 (in scope 17.9 %, neighbour 25.6 %, out of scope 5.3 %); the same code without that
# day's matching changes measured 19.9 %, so the rise came with the new questions and the new dialogue paths.
# A fresh clone retrains the model, which moves a few answers: hence the margin.
WRONG_RATE_MAX = 0.22
# The development split (the thresholds are chosen on it): 0 % (0/58) wrong at 4401925.
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
