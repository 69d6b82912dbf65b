"""Count the string literals with Chinese characters in the project's Python code, per file.

User-facing sentences and word lists belong in the domain (bot/domain) and knowledge (knowledge/) YAML files,
staff-facing labels and messages in knowledge/console.yml (core/catalogue.py); this shows what is left in Python.
Docstrings and comments are not counted. ``--list`` prints every literal with its line.

    .venv/bin/python scripts/chinese_literals.py [--list] [paths…]   (default: actions bot core webapp scripts)
"""

from __future__ import annotations

import argparse
import ast
import re
import sys
from pathlib import Path
from typing import Iterator, List, Tuple

ROOT = Path(__file__).resolve().parent.parent
DEFAULT = ("actions", "bot", "core", "webapp", "scripts")
HAN = re.compile(r"[\u3400-\u9fff]")


def _docstrings(tree: ast.AST) -> set:
    """Docstrings, and the doc/description/help texts of fields and options (for developers, not users)."""
    ids = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.keyword) and node.arg in ("doc", "description", "help"):
            ids.update(id(n) for n in ast.walk(node.value) if isinstance(n, ast.Constant))
        if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)) and node.body:
            first = node.body[0]
            if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant):
                ids.add(id(first.value))
    return ids


def literals(path: Path) -> Iterator[Tuple[int, str]]:
    """(line, text) of every Chinese string constant of ``path`` that is not a docstring."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    skip = _docstrings(tree)
    for node in ast.walk(tree):
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in skip:
            if HAN.search(node.value):
                yield node.lineno, node.value


def files(paths: List[str]) -> List[Path]:
    found: List[Path] = []
    for name in paths:
        path = ROOT / name
        found.extend(sorted(path.rglob("*.py")) if path.is_dir() else [path])
    return [p for p in found if "migrations" not in p.parts]


def main(argv: List[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--list", action="store_true", help="print every literal")
    parser.add_argument("paths", nargs="*", default=list(DEFAULT))
    args = parser.parse_args(argv)
    total, counts = 0, []
    for path in files(args.paths):
        found = sorted(set(literals(path)))
        if found:
            counts.append((len(found), path.relative_to(ROOT)))
            total += len(found)
            if args.list:
                for line, text in found:
                    print(f"{path.relative_to(ROOT)}:{line}: {text[:70]!r}")
    for count, path in sorted(counts, reverse=True):
        print(f"{count:5d}  {path}")
    print(f"{total:5d}  in {len(counts)} files")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
