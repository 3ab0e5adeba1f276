"""axe-core (pinned in scripts/axe/package.json, installed by scripts/axe.sh) in the browser tests:
every rule it has, the AAA and experimental ones included, and no violation allowed. And the
narrow-screen check: at 375 px a page must not scroll sideways."""

import subprocess
from functools import cache
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PHONE = {"width": 375, "height": 812}
#: Every rule enabled, whatever its tags (axe leaves the AAA and experimental ones off by default).
RUN_ALL_RULES = """async () => {
  const rules = Object.fromEntries(axe.getRules().map(rule => [rule.ruleId, {enabled: true}]));
  const result = await axe.run(document, {rules, resultTypes: ['violations']});
  return result.violations.map(v => ({
    id: v.id, impact: v.impact, help: v.help,
    nodes: v.nodes.slice(0, 5).map(n => n.target.join(' ') + ': ' + n.failureSummary),
  }));
}"""


@cache
def axe_source() -> str:
    path = subprocess.run(["bash", str(ROOT / "scripts" / "axe.sh")], check=True, capture_output=True, text=True)
    return Path(path.stdout.strip()).read_text(encoding="utf-8")


def violations(page) -> list[dict]:
    """axe's violations on the page as it is now. Injected through the DevTools protocol
    (page.evaluate), which the pages' Content-Security-Policy (script-src 'none') leaves alone."""
    if not page.evaluate("() => typeof window.axe !== 'undefined'"):
        page.evaluate(axe_source())
    return page.evaluate(RUN_ALL_RULES)


def assert_accessible(page, what: str = "") -> None:
    found = violations(page)
    assert found == [], f"{what or page.url}: {found}"


def sideways_overflow(page) -> int:
    """How many CSS pixels the page is wider than the window (0: no sideways scrolling)."""
    return page.evaluate("() => document.documentElement.scrollWidth - window.innerWidth")


def assert_fits_a_phone(page, what: str = "") -> None:
    """At 375 px wide nothing makes the page scroll sideways; then the page passes axe as it is."""
    page.set_viewport_size(PHONE)
    overflow = sideways_overflow(page)
    wide = page.evaluate(
        """() => [...document.querySelectorAll('body *')]
             .filter(e => e.getBoundingClientRect().right > window.innerWidth + 0.5
                          && !e.closest('.scroll'))
             .slice(0, 5).map(e => e.tagName.toLowerCase() + (e.id ? '#' + e.id : '') + '.' + e.className)"""
    )
    assert overflow <= 0, f"{what or page.url} is {overflow} px too wide at 375 px: {wide}"
    assert_accessible(page, f"{what or page.url} at 375 px")
