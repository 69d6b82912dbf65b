"""axe-core (npm, package.json devDependencies; ``scripts/ensure_browser.sh`` installs it into node_modules/) run in
a page that Playwright drives. Never fetched from a CDN: the script is read from node_modules and evaluated in the
page through the DevTools protocol, so the page's own Content-Security-Policy stays as it is served."""

from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path
from typing import Any, Dict, List

import pytest

AXE = Path(__file__).resolve().parents[2] / "node_modules" / "axe-core" / "axe.min.js"
BLOCKING = ("serious", "critical")


@lru_cache(maxsize=1)
def axe_source() -> str:
    if not AXE.exists():
        pytest.fail("axe-core is missing: run scripts/ensure_browser.sh (make test does; it runs npm ci)")
    return AXE.read_text(encoding="utf-8")


def axe_run(page, context: str = "document") -> List[Dict[str, Any]]:
    """Every violation axe-core finds in the page as it is now (all rules but the experimental ones)."""
    if not page.evaluate("typeof window.axe === 'object'"):
        page.evaluate(axe_source())
    result = page.evaluate(
        """async context => {
            const r = await axe.run(context === 'document' ? document : context, {resultTypes: ['violations']});
            return r.violations.map(v => ({id: v.id, impact: v.impact, help: v.help,
                nodes: v.nodes.map(n => ({target: n.target.join(' '), summary: n.failureSummary,
                                          html: n.html.slice(0, 200)}))}));
        }""",
        context,
    )
    return result


def blocking(violations: List[Dict[str, Any]]) -> List[Dict[str, Any]]:
    return [v for v in violations if v["impact"] in BLOCKING]


def assert_no_blocking_violation(page, where: str) -> List[Dict[str, Any]]:
    """Fails on any serious or critical violation, naming each rule and element; returns all violations (the minor
    and moderate ones too, for a report)."""
    violations = axe_run(page)
    bad = blocking(violations)
    assert not bad, f"axe-core on {where}:\n" + json.dumps(bad, ensure_ascii=False, indent=1)
    return violations
