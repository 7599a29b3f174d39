"""The care pathway as inline SVG for the MDT page, with the patient's current and next steps marked.

Why a drawing of its own: the page must be one self-contained HTML file with no request to
anything but the server, so the picture is SVG text written into the page (no matplotlib
image, no script). The pathway itself (steps, gk:nextStep links, the step of each decision
class) comes from :mod:`guidekg.pathway`; only its public ``build_pathway``, ``steps_of``,
``next_steps`` and ``order`` are used here. Steps are laid out in columns by their distance
from the entry step. Current and next steps are told apart by text and border style as well
as by colour, so the marking survives greyscale printing and colour blindness.
"""

from __future__ import annotations

from functools import lru_cache
from html import escape

import networkx as nx

from ..pathway import Pathway, build_pathway

BOX_W, BOX_H, GAP_X, GAP_Y, PAD = 150, 74, 46, 22, 16
FILL = {"current": "#ffd8a8", "next": "#fff3bf", "step": "#f1f3f5"}
STROKE = {"current": "#7a3b00", "next": "#5c4b00", "step": "#495057"}


@lru_cache(maxsize=1)
def pathway() -> Pathway:
    """The guideline's care pathway, read once from the packaged ontology."""
    from .. import resources

    return build_pathway(resources.shared_graph("ontology", *resources.ONTOLOGY_MODULES))


def _wrap(text: str, width: int = 20, lines: int = 3) -> list[str]:
    out, line = [], ""
    for word in text.split():
        if line and len(line) + 1 + len(word) > width:
            out.append(line)
            line = word
        else:
            line = f"{line} {word}".strip()
    out.append(line)
    return out[:lines - 1] + [" ".join(out[lines - 1:])] if len(out) > lines else out


def marks(path: Pathway, classes: list[str]) -> tuple[list[str], list[str]]:
    """(current steps, next steps) of a patient in these decision classes (curies or IRIs).

    A patient's classes sit at several steps (diagnosis and MDT review applies to everyone);
    where the patient stands is the furthest of them from the entry, and the next steps
    are where the pathway goes from there.
    """
    steps = path.steps_of(set(classes))
    depth = nx.single_source_shortest_path_length(path.graph, path.entry) if path.entry else {}
    furthest = max((depth.get(s, 0) for s in steps), default=0)
    current = [s for s in steps if depth.get(s, 0) == furthest]
    return current, path.next_steps(current)


def pathway_svg(classes: list[str], uid: str) -> tuple[str, list[str], list[str]]:
    """The SVG markup and the labels of the current and next steps (for the text beside the picture)."""
    path = pathway()
    current, upcoming = marks(path, classes)
    graph = path.graph
    depth = nx.single_source_shortest_path_length(graph, path.entry) if path.entry else {}
    deepest = max(depth.values(), default=0)
    columns: dict[int, list[str]] = {}
    for node in path.order():
        columns.setdefault(depth.get(node, deepest + 1), []).append(node)
    tallest = max(len(c) for c in columns.values())
    width = PAD * 2 + len(columns) * BOX_W + (len(columns) - 1) * GAP_X
    height = PAD * 2 + tallest * BOX_H + (tallest - 1) * GAP_Y + 24
    where: dict[str, tuple[float, float]] = {}
    for index, layer in enumerate(sorted(columns)):
        nodes = columns[layer]
        top = PAD + 24 + (tallest - len(nodes)) * (BOX_H + GAP_Y) / 2
        for row, node in enumerate(nodes):
            where[node] = (PAD + index * (BOX_W + GAP_X), top + row * (BOX_H + GAP_Y))
    label = {n: graph.nodes[n].get("label", n) for n in graph}
    kind = {n: "current" if n in current else "next" if n in upcoming else "step" for n in graph}
    words = ("Care pathway. Current step: " + (", ".join(label[s] for s in current) or "not determined")
             + ". Next: " + (", ".join(label[s] for s in upcoming) or "none") + ".")
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width:.0f} {height:.0f}" role="img" '
             f'aria-labelledby="{uid}-t {uid}-d" class="pathway" font-family="sans-serif" font-size="13">',
             f'<title id="{uid}-t">Care pathway</title><desc id="{uid}-d">{escape(words)}</desc>',
             f'<defs><marker id="{uid}-arrow" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="7" markerHeight="7" '
             f'orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z" fill="#343a40"/></marker></defs>']
    for source, target in graph.edges():
        x1, y1 = where[source]
        x2, y2 = where[target]
        if source == target:  # a repeated step (reassessment every 2 months): a loop over the box
            cx = x1 + BOX_W / 2
            parts.append(f'<path d="M{cx - 20:.0f},{y1:.0f} C{cx - 30:.0f},{y1 - 26:.0f} {cx + 30:.0f},{y1 - 26:.0f} '
                         f'{cx + 20:.0f},{y1:.0f}" fill="none" stroke="#343a40" stroke-width="1.4" '
                         f'marker-end="url(#{uid}-arrow)"/>')
            continue
        parts.append(f'<line x1="{x1 + BOX_W:.0f}" y1="{y1 + BOX_H / 2:.0f}" x2="{x2:.0f}" y2="{y2 + BOX_H / 2:.0f}" '
                     f'stroke="#343a40" stroke-width="1.4" marker-end="url(#{uid}-arrow)"/>')
    for node, (x, y) in where.items():
        state = kind[node]
        dash = ' stroke-dasharray="6 3"' if state == "next" else ""
        stroke = 3 if state != "step" else 1
        parts.append(f'<g class="step step-{state}"><rect x="{x:.0f}" y="{y:.0f}" width="{BOX_W}" height="{BOX_H}" rx="8" '
                     f'fill="{FILL[state]}" stroke="{STROKE[state]}" stroke-width="{stroke}"{dash}/>')
        lines = _wrap(label[node])
        if state != "step":
            parts.append(f'<text x="{x + 4:.0f}" y="{y - 6:.0f}" fill="{STROKE[state]}" font-weight="bold">'
                         f'{"CURRENT" if state == "current" else "NEXT"}</text>')
        for i, line in enumerate(lines):
            top = y + BOX_H / 2 - (len(lines) - 1) * 8.5 + 4
            parts.append(f'<text x="{x + BOX_W / 2:.0f}" y="{top + i * 17:.0f}" text-anchor="middle" fill="#212529">'
                         f'{escape(line)}</text>')
        parts.append("</g>")
    parts.append("</svg>")
    return "".join(parts), [label[s] for s in current], [label[s] for s in upcoming]
