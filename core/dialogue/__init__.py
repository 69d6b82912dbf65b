"""Dialogue logic that is not one topic's answer: which guided check follows an answer, what procedure a check is
about, and reasoning about the case a user describes (core/dialogue/cases.py). Rasa-free."""
