"""Materials check: what a user has, what is missing and why, for each procedure and entity type.

Modules: ``specs`` (plain values), ``schema``/``loader`` (knowledge/materials/*.yml → database), ``models`` and
``repository`` (tables and the questions asked of them), ``parsing`` (conditions and answers in free text),
``extraction`` (the spaCy material extractor), ``comparison`` and ``eligibility`` (pure logic), ``rendering``
(messages), ``forms`` and ``actions`` (the thin Rasa actions).
"""
