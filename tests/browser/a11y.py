"""axe-core in the page: the WCAG 2.2 AA audit of the web client (tests/clients/axe holds the
pinned axe-core; `npm ci` there, as .ci/run does)."""
from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

import pytest

AXE = Path(__file__).resolve().parents[1] / "clients" / "axe" / "node_modules" / "axe-core" / "axe.min.js"
WCAG_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa"]
# Best-practice rules the audit also holds the client to (the findings beyond WCAG's
# tags): every piece of content in a landmark, one main landmark, an h1 on every view.
STRUCTURE_RULES = ["region", "landmark-one-main", "page-has-heading-one", "landmark-unique",
                   "landmark-no-duplicate-main", "heading-order", "aria-allowed-role"]
BLOCKING = ("serious", "critical")


def require_axe() -> Path:
    if AXE.exists():
        return AXE
    reason = f"axe-core is not installed: run `npm ci` in {AXE.parents[2]}"
    if os.environ.get("AUDIOROOMS_REQUIRE_NODE") == "1" or os.environ.get("AUDIOROOMS_REQUIRE_BROWSER") == "1":
        pytest.fail(reason)
    pytest.skip(reason)


RUN = """async ([tags, rules]) => {
  const pick = (res) => res.violations.map((v) => ({
    id: v.id, impact: v.impact, help: v.help, count: v.nodes.length,
    targets: v.nodes.slice(0, 4).map((n) => n.target.join(' ') + ' :: ' + (n.failureSummary || '').split('\\n').slice(1, 2).join('')),
  }));
  const wcag = await axe.run(document, {runOnly: {type: 'tag', values: tags}, resultTypes: ['violations']});
  const structure = await axe.run(document, {runOnly: {type: 'rule', values: rules}, resultTypes: ['violations']});
  return {wcag: pick(wcag), structure: pick(structure)};
}"""


@dataclass
class Audit:
    """Every page audited, with what axe found; printed at the end of the test."""
    results: dict[str, dict] = field(default_factory=dict)
    not_audited: list[str] = field(default_factory=list)

    async def run(self, up, name: str, sizes: dict[str, tuple[dict, str]]) -> None:
        """Audit the page as it is now at each size: ``{label: (viewport, color scheme)}``."""
        page = up.page
        before = page.viewport_size
        for size, (viewport, scheme) in sizes.items():
            await page.emulate_media(color_scheme=scheme)
            if page.viewport_size != viewport:
                await page.set_viewport_size(viewport)
            await page.wait_for_timeout(150)  # layout and colours settle
            if not await page.evaluate("typeof window.axe !== 'undefined'"):
                await page.add_script_tag(path=str(require_axe()))
            self.results[f"{name} @ {size}"] = await page.evaluate(RUN, [WCAG_TAGS, STRUCTURE_RULES])
        await page.emulate_media(color_scheme="light")
        if page.viewport_size != before:
            await page.set_viewport_size(before)
            await page.wait_for_timeout(100)

    def report(self) -> str:
        lines = ["axe-core WCAG 2.2 AA audit of the web client "
                 f"(tags {', '.join(WCAG_TAGS)}; plus {', '.join(STRUCTURE_RULES)}):"]
        for page, res in self.results.items():
            found = [("wcag", v) for v in res["wcag"]] + [("structure", v) for v in res["structure"]]
            if not found:
                lines.append(f"  {page}: no violations")
                continue
            lines.append(f"  {page}:")
            for kind, v in found:
                lines.append(f"    - {v['id']} ({kind}, {v['impact']}) x{v['count']}: {v['help']}")
                for t in v["targets"]:
                    lines.append(f"        {t}")
        for name in self.not_audited:
            lines.append(f"  {name}: not yet audited")
        return "\n".join(lines)

    def failures(self) -> list[str]:
        out = []
        for page, res in self.results.items():
            out += [f"{page}: {v['id']} ({v['impact']}) x{v['count']}" for v in res["wcag"]
                    if v["impact"] in BLOCKING]
            out += [f"{page}: {v['id']} ({v['impact']}) x{v['count']}" for v in res["structure"]]
        return out


# The keyboard: what has focus, and whether its focus ring shows ------------------------------

FOCUSED = """() => {
  const el = document.activeElement;
  if (!el || el === document.body || el === document.documentElement) return null;
  // A visually hidden file input shows its ring on its label (the visible "Photo" button).
  let ring = el;
  if (el.matches('input[type=file]') && el.getBoundingClientRect().width <= 1 && el.labels?.length) ring = el.labels[0];
  const cs = getComputedStyle(ring);
  const name = (el.getAttribute('aria-label') || (el.labels?.[0]?.innerText) || el.innerText || el.value || '')
    .replace(/\\s+/g, ' ').trim();
  const r = ring.getBoundingClientRect();
  // WCAG 2.4.11: the focused control is not entirely hidden by sticky or fixed content (top
  // bar, controls bar): some of it is what the page shows at one of these points.
  const points = [[0.5, 0.5], [0.1, 0.1], [0.9, 0.1], [0.1, 0.9], [0.9, 0.9]].map(([x, y]) =>
    [r.left + r.width * x, r.top + r.height * y]);
  const shown = points.some(([x, y]) => {
    const top = document.elementFromPoint(x, y);
    return top && (ring.contains(top) || top.contains(ring));
  });
  return {
    tag: el.tagName.toLowerCase(), name, key: el.dataset.key || el.id || '',
    focusVisible: el.matches(':focus-visible'),
    outline: `${cs.outlineStyle} ${cs.outlineWidth} ${cs.outlineColor}`,
    ringShows: cs.outlineStyle !== 'none' && parseFloat(cs.outlineWidth) >= 2,
    onScreen: r.width > 0 && r.height > 0, shown,
    at: shown ? '' : points.map(([x, y]) => { const t = document.elementFromPoint(x, y);
      return `${Math.round(x)},${Math.round(y)}:${t ? t.tagName + '.' + t.className : 'none'}`; }).join(' '),
  };
}"""

CONTROLS = """() => [...document.querySelectorAll(
    'a[href], button, input, select, textarea, summary, [tabindex]:not([tabindex="-1"])')]
  .filter((el) => !el.disabled && el.tabIndex >= 0 && el.checkVisibility({visibilityProperty: true})
    && !el.closest('[inert], [aria-hidden=true]'))
  .map((el) => { el.dataset.a11yControl = '1'; return (el.getAttribute('aria-label') || el.labels?.[0]?.innerText
    || el.innerText || el.name || el.tagName).replace(/\\s+/g, ' ').trim(); })"""


async def focused(page) -> dict | None:
    f = await page.evaluate(FOCUSED)
    if f is not None:
        assert f["focusVisible"] and f["ringShows"], f"keyboard focus without a visible focus ring: {f}"
        assert f["shown"], f"the focused control is hidden behind other content: {f}"
    return f


async def tab_to(page, name, limit: int = 80, key: str = "Tab") -> dict:
    """Press Tab until the focused control's name matches ``name`` (a compiled regex or a
    string it starts with); every control passed on the way must show its focus ring."""
    passed = []
    for _ in range(limit):
        await page.keyboard.press(key)
        f = await focused(page)
        if f is None:
            passed.append("<body>")
            continue
        hit = name.search(f["name"]) if hasattr(name, "search") else f["name"].startswith(name)
        if hit:
            return f
        passed.append(f["name"] or f["tag"])
    raise AssertionError(f"Tab never reached {name!r}; it went through: {passed}")


async def tab_cycle(page, limit: int = 200) -> list[str]:
    """Tab through the whole page once; the visible controls Tab never reached."""
    await page.evaluate(CONTROLS)
    await page.evaluate("""() => { window.__a11yReached = new Set();
      window.__a11yOnFocus = (ev) => window.__a11yReached.add(ev.target);
      document.addEventListener('focusin', window.__a11yOnFocus); }""")
    body_hits = 0
    for _ in range(limit):
        await page.keyboard.press("Tab")
        if await focused(page) is None:
            body_hits += 1
            if body_hits >= 2:  # went round the whole page
                break
    return await page.evaluate("""() => {
      document.removeEventListener('focusin', window.__a11yOnFocus);
      const missed = [...document.querySelectorAll('[data-a11y-control]')].filter((el) =>
        !window.__a11yReached.has(el) && el.isConnected && el.checkVisibility({visibilityProperty: true})
        // Arrow keys, not Tab, move within a radio group: reaching one of it is enough.
        && !(el.type === 'radio' && [...window.__a11yReached].some((r) => r.type === 'radio' && r.name === el.name)));
      for (const el of document.querySelectorAll('[data-a11y-control]')) delete el.dataset.a11yControl;
      return missed.map((el) => el.outerHTML.slice(0, 160));
    }""")
