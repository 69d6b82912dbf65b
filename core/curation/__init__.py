"""Curation of the FAQ/knowledge entries by registration staff, in the console and through its JSON API.

- ``models``: every change of an entry as a versioned snapshot, editors' review requests, settings, API tokens;
- ``validation``: the editable fields, their Chinese labels and the checks of ``knowledge_base.schema``;
- ``repository``: one named method per operation (create, edit, publish, retire, roll back, review …), with the
  roles' permissions and the version check that refuses a second concurrent save;
- ``diff``: readable differences between two versions;
- ``spreadsheet``: export and all-or-nothing import as .xlsx and .csv;
- ``unanswered``: messages the bot could not answer, grouped by similarity, turned into draft entries;
- ``preview``: which entry the bot would answer a question with, and how confidently.

The bot reads the same tables: a published change reaches it within a second or two (core/knowledge/search.py).
"""
