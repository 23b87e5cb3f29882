"""A CPG as one self-contained HTML page: the graph drawn by cytoscape.js (vendored from npm in
``vendor/``, inlined, so nothing is fetched when the page is viewed), edge types as colours, a
node's kind, code label, line and byte span on hover.

The page's data is the JSON export itself (:func:`ttune.cpg.export.to_json`) in a
``<script type="application/json" id="cpg-data">`` element; :func:`page_data` reads it back.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from .base import CPGError
from .export import to_json
from .graph import CPG

EDGE_CSS_COLOURS = {
    "AST": "#999999",
    "CFG": "#1f5fd6",
    "CDG": "#1a8a2e",
    "DDG": "#d62728",
    "CALL": "#8e3cc4",
}
"""Edge colour per type (the DOT export's colours as CSS)."""

_VENDOR = Path(__file__).with_name("vendor") / "cytoscape.min.js"
_DATA = re.compile(r'<script type="application/json" id="cpg-data">(.*?)</script>', re.S)

_SCRIPT = """
const data = JSON.parse(document.getElementById('cpg-data').textContent);
const colours = JSON.parse(document.getElementById('cpg-colours').textContent);
const elements = data.nodes.map(n => ({data: {id: 'n' + n.id, label: n.kind + (n.label ? '\\n' + n.label : ''),
  info: n.kind + ' ' + JSON.stringify(n.label) + ' (line ' + n.line + ', bytes ' + n.start_byte + '-' + n.end_byte + ')'}}))
  .concat(data.edges.map((e, i) => ({data: {id: 'e' + i, source: 'n' + e.source, target: 'n' + e.target,
  type: e.type, colour: colours[e.type], tag: e.variable || e.label || ''}})));
const cy = cytoscape({container: document.getElementById('graph'), elements,
  layout: {name: 'breadthfirst', directed: true, spacingFactor: 0.9},
  style: [{selector: 'node', style: {shape: 'round-rectangle', 'background-color': '#f4f4f4',
           'border-width': 1, 'border-color': '#777', label: 'data(label)', 'text-wrap': 'wrap',
           'text-max-width': 160, 'font-size': 9, 'font-family': 'monospace', 'text-valign': 'center',
           width: 'label', height: 'label', padding: 4}},
          {selector: 'edge', style: {width: 1.5, 'line-color': 'data(colour)', 'target-arrow-color': 'data(colour)',
           'target-arrow-shape': 'triangle', 'curve-style': 'bezier', label: 'data(tag)', 'font-size': 8}}]});
const tip = document.getElementById('tip');
cy.on('mouseover', 'node', ev => { tip.textContent = ev.target.data('info'); });
cy.on('mouseout', 'node', () => { tip.textContent = ''; });
document.querySelectorAll('#legend input').forEach(box => box.addEventListener('change', () =>
  cy.edges('[type = "' + box.value + '"]').style('display', box.checked ? 'element' : 'none')));
"""


def _inline(text: str) -> str:
    """Text safe inside a <script> element (where ``</script`` can only occur in a string)."""
    return re.sub(r"</(script)", r"<\\/\1", text, flags=re.I)


def to_html(
    cpg: CPG, edge_types: Iterable[str] | None = None, title: str = "code property graph"
) -> str:
    """The page: the graph, a legend of edge colours (each type can be hidden) and the hovered
    node's kind, label, line and byte span."""
    data = to_json(cpg, edge_types)
    try:
        library = _VENDOR.read_text(encoding="utf-8")
    except OSError as e:
        raise CPGError(
            f"cannot read the vendored cytoscape.js ({_VENDOR}): {e.strerror or e}"
        ) from None
    kinds = sorted({e["type"] for e in data["edges"]}, key=list(EDGE_CSS_COLOURS).index)
    legend = " ".join(
        f'<label style="color:{EDGE_CSS_COLOURS[k]}"><input type="checkbox" value="{k}" '
        f"checked> {k}</label>"
        for k in kinds
    )
    esc = title.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return f"""<!DOCTYPE html>
<html><head><meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'">
<title>{esc}</title>
<style>body{{margin:0;font-family:sans-serif}} #graph{{position:absolute;top:2.2em;bottom:1.8em;left:0;right:0}}
#legend{{padding:.4em}} #tip{{position:absolute;bottom:0;padding:.3em;font-family:monospace}}</style>
</head><body>
<div id="legend">{esc} ({data["language"]}, {len(data["nodes"])} nodes, {len(data["edges"])} edges): {legend}</div>
<div id="graph"></div><div id="tip"></div>
<script type="application/json" id="cpg-data">{_inline(json.dumps(data))}</script>
<script type="application/json" id="cpg-colours">{json.dumps(EDGE_CSS_COLOURS)}</script>
<script>{_inline(library)}</script>
<script>{_SCRIPT}</script>
</body></html>
"""


def page_data(html: str) -> dict[str, Any]:
    """The graph data a page made by :func:`to_html` draws (CPGError when it holds none)."""
    m = _DATA.search(html)
    if m is None:
        raise CPGError("not a ttune CPG page (no cpg-data element)")
    return json.loads(m.group(1))
