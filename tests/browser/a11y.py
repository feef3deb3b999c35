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
