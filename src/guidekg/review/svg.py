"""A small, dependency-free SVG writer for layered graphs (evidence trails, the care pathway).

Why not matplotlib: its pictures are images with no links, labels collide with arrowheads,
and the page must embed them as data URIs. Here every node is a box sized to its wrapped
label, placed in a column (layer) and ordered by a caller-given key, so the same graph gives
the same picture byte for byte; nodes carry a ``<title>`` tooltip and a link into the
report, edges may carry a condition label placed in the gap between columns, and a legend
explains the colours. The output is inline SVG text, escaped, with no external reference.
"""

from __future__ import annotations

from dataclasses import dataclass
from html import escape

FONT = 12
LINE = 15
PAD = 6
ROW_GAP = 16
_COND_INK = ' fill="#5a4a00"'


@dataclass(frozen=True)
class Node:
    id: str
    label: str
    kind: str
    layer: int
    key: tuple = ()
    title: str = ""
    href: str = ""


@dataclass(frozen=True)
class Edge:
    source: str
    target: str
    label: str = ""
    title: str = ""
    dashed: bool = False


def wrap(text: str, width: int) -> list[str]:
    """Greedy word wrap (long words are cut), at least one line."""
    lines: list[str] = []
    line = ""
    for word in text.split():
        while len(word) > width:
            if line:
                lines.append(line)
                line = ""
            lines.append(word[: width - 1] + "-")
            word = word[width - 1:]
        if line and len(line) + 1 + len(word) > width:
            lines.append(line)
            line = word
        else:
            line = f"{line} {word}".strip()
    return lines + [line] if line or not lines else lines


def _text(x: float, y: float, lines: list[str], anchor: str = "middle", css: str = "") -> str:
    spans = "".join(f'<tspan x="{x:.1f}" dy="{0 if i == 0 else LINE}">{escape(t)}</tspan>' for i, t in enumerate(lines))
    return f'<text x="{x:.1f}" y="{y:.1f}" text-anchor="{anchor}" font-size="{FONT}"{css}>{spans}</text>'


def render(nodes: list[Node], edges: list[Edge], palette: dict[str, str], legend: dict[str, str], title: str,
           node_width: int = 170, gap: int = 190, label_width: int = 30, ident: str = "graph") -> str:
    """The graph as an ``<svg>`` element (string)."""
    chars = max(8, (node_width - 2 * PAD) // 7)
    boxes: dict[str, tuple[float, float, float, float]] = {}
    layers = sorted({n.layer for n in nodes})
    columns = {layer: sorted((n for n in nodes if n.layer == layer), key=lambda n: (n.key, n.id)) for layer in layers}
    lines = {n.id: wrap(n.label, chars)[:4] for n in nodes}
    indegree: dict[str, int] = {}
    for e in edges:
        if e.source != e.target:
            indegree[e.target] = indegree.get(e.target, 0) + 1
    texts = {i: wrap(e.label, label_width)[:6] for i, e in enumerate(edges) if e.label}
    near_target = {i for i, e in enumerate(edges) if i in texts and indegree.get(e.target) == 1 and e.source != e.target}
    heights = {n.id: len(lines[n.id]) * LINE + 2 * PAD for n in nodes}
    rows = dict(heights)
    for i in near_target:  # a condition written beside its target gets the target's row
        rows[edges[i].target] = max(rows[edges[i].target], len(texts[i]) * LINE + 4)
    col_height = {layer: sum(rows[n.id] + ROW_GAP for n in col) for layer, col in columns.items()}
    tallest = max(col_height.values(), default=0)
    top = 60
    for i, layer in enumerate(layers):
        y = top + (tallest - col_height[layer]) / 2
        for n in columns[layer]:
            boxes[n.id] = (20 + i * (node_width + gap), y + (rows[n.id] - heights[n.id]) / 2, node_width, heights[n.id])
            y += rows[n.id] + ROW_GAP
    legend_y = top + tallest + 20
    width = 40 + len(layers) * node_width + max(0, len(layers) - 1) * gap
    parts: list[str] = []
    labels: list[tuple[float, float, list[str], str]] = []
    for idx, e in enumerate(edges):
        if e.source not in boxes or e.target not in boxes:
            continue
        sx, sy, sw, sh = boxes[e.source]
        tx, ty, tw, th = boxes[e.target]
        dash = ' stroke-dasharray="5,4"' if e.dashed else ""
        tip = f"<title>{escape(e.title or e.label or f'{e.source} → {e.target}')}</title>"
        if e.source == e.target:
            d = f"M{sx + sw * 0.65:.1f},{sy:.1f} C{sx + sw * 0.65:.1f},{sy - 34:.1f} {sx + sw * 0.35:.1f},{sy - 34:.1f} {sx + sw * 0.35:.1f},{sy:.1f}"
            lx, ly = sx + sw / 2, sy - 30 - LINE * (len(texts.get(idx, [])) - 1)
        elif tx > sx:
            x1, y1, x2, y2 = sx + sw, sy + sh / 2, tx, ty + th / 2
            d = f"M{x1:.1f},{y1:.1f} C{x1 + gap / 2:.1f},{y1:.1f} {x2 - gap / 2:.1f},{y2:.1f} {x2 - 2:.1f},{y2:.1f}"
            if idx in near_target:
                lx, ly = x2 - gap / 2, y2 - LINE * (len(texts[idx]) - 1) / 2 + 4
            else:
                lx, ly = x1 + gap / 2, y1 - LINE * (len(texts.get(idx, [])) - 1) / 2 + 4
        else:  # backwards: route below both boxes
            x1, y1, x2, y2 = sx + sw / 2, sy + sh, tx + tw / 2, ty + th
            low = max(y1, y2) + 30
            d = f"M{x1:.1f},{y1:.1f} C{x1:.1f},{low:.1f} {x2:.1f},{low:.1f} {x2:.1f},{y2 + 2:.1f}"
            lx, ly = (x1 + x2) / 2, low - 6
        parts.append(f'<g class="edge"><path d="{d}" fill="none" stroke="#666" stroke-width="1.3"{dash} '
                     f'marker-end="url(#{ident}-arrow)"/>{tip}</g>')
        if idx in texts:
            labels.append((lx, ly, texts[idx], e.title or e.label))
    placed: list[tuple[float, float, float]] = []
    for lx, ly, text, tip in sorted(labels, key=lambda item: (round(item[0]), item[1])):
        h = len(text) * LINE + 4
        for px, py, ph in placed:  # push down labels that would sit on an earlier one in the same gap
            if abs(px - lx) < gap * 0.9 and py - h < ly < py + ph:
                ly = py + ph + 2
        placed.append((lx, ly, h))
        w = max(len(t) for t in text) * 6.6 + 10
        parts.append(f'<g class="cond"><rect x="{lx - w / 2:.1f}" y="{ly - FONT:.1f}" width="{w:.1f}" height="{h:.1f}" '
                     f'rx="3" fill="#fffbe6" stroke="#d9c77a" stroke-width="0.6"/>'
                     + _text(lx, ly, text, css=_COND_INK) + f'<title>{escape(tip)}</title></g>')
        legend_y = max(legend_y, ly + h + 10)
    for n in sorted(nodes, key=lambda n: n.id):
        x, y, w, h = boxes[n.id]
        fill = palette.get(n.kind, "#eeeeee")
        box = (f'<rect x="{x:.1f}" y="{y:.1f}" width="{w}" height="{h}" rx="6" fill="{fill}" stroke="#333" stroke-width="1"/>'
               + _text(x + w / 2, y + PAD + FONT, lines[n.id]) + f"<title>{escape(n.title or n.label)}</title>")
        if n.href:
            box = f'<a href="{escape(n.href)}">{box}</a>'
        parts.append(f'<g class="node" data-id="{escape(n.id)}">{box}</g>')
    x = 20.0
    legend_parts = []
    for kind, text in legend.items():
        legend_parts.append(f'<rect x="{x:.1f}" y="{legend_y:.1f}" width="14" height="14" rx="3" fill="{palette.get(kind, "#eee")}" stroke="#333"/>'
                            + _text(x + 20, legend_y + 11, [text], anchor="start"))
        x += 40 + len(text) * 7.4
    height = legend_y + 34
    width = max(width, x + 20)
    head = (f'<svg xmlns="http://www.w3.org/2000/svg" id="{escape(ident)}" role="img" viewBox="0 0 {width:.0f} {height:.0f}" '
            f'width="{width:.0f}" height="{height:.0f}" font-family="system-ui, sans-serif">'
            f'<title>{escape(title)}</title><defs><marker id="{escape(ident)}-arrow" viewBox="0 0 10 10" refX="10" refY="5" '
            'markerWidth="7" markerHeight="7" orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z" fill="#666"/></marker></defs>'
            f'<text x="20" y="22" font-size="14" font-weight="bold">{escape(title)}</text>')
    return head + "".join(parts) + '<g class="legend">' + "".join(legend_parts) + "</g></svg>"
