"""Create the database tables and load the curated knowledge (``make db``).

Each concern that keeps seed data in ``knowledge/`` adds its loader to ``SEEDERS``; they run in order, each in
its own transaction, and say what they did.
"""

from __future__ import annotations

import importlib
import logging
import sys

# "module:function" - each function takes no arguments and returns a dict of counts
SEEDERS = [
    "core.knowledge.loader:load_all",
    "core.materials.loader:load_all",
    "core.accounts:seed_admin",
]


def main() -> int:
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    from core.db import create_schema
    from core.settings import get_settings

    url = get_settings().database_url
    print(f"database: {url.split('@')[-1]}")
    create_schema()
    for spec in SEEDERS:
        module_name, _, function_name = spec.partition(":")
        counts = getattr(importlib.import_module(module_name), function_name)()
        print(f"  {module_name}: " + ", ".join(f"{k} {v}" for k, v in (counts or {}).items()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
