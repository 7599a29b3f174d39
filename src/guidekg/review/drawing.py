"""Draw a networkx graph to SVG and PNG with matplotlib (no Graphviz on the machine).

Nodes carry ``kind`` (a colour key) and ``label``; highlighted nodes get a thick outline.
matplotlib is an optional dependency (``guidekg[review]``): without it, pictures are skipped
and the report says so.
"""

from __future__ import annotations

import io
from collections.abc import Iterable

import networkx as nx

PALETTE = {"statement": "#9ecae1", "recommendation": "#a1d99b", "amendment": "#fdae6b", "citation": "#fcbba1",
           "unlisted": "#ef3b2c", "reference": "#dadaeb", "step": "#c7e9c0", "current": "#fd8d3c", "next": "#fee391",
           "other": "#d9d9d9"}


def available() -> bool:
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        return False
    return True


def draw(graph: nx.DiGraph, layout: dict, title: str, highlight: Iterable[str] = (), size: tuple[float, float] = (12, 8),
         font_size: int = 7) -> dict[str, bytes]:
    """{'svg': bytes, 'png': bytes} of the graph drawn at the given node positions."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    highlight = set(highlight)
    fig, ax = plt.subplots(figsize=size)
    colors = [PALETTE.get(graph.nodes[n].get("kind", "other"), PALETTE["other"]) for n in graph]
    widths = [3.0 if n in highlight else 0.5 for n in graph]
    nx.draw_networkx_edges(graph, layout, ax=ax, arrows=True, arrowsize=8, width=0.6, edge_color="#888888",
                           node_size=600, connectionstyle="arc3,rad=0.05")
    nx.draw_networkx_nodes(graph, layout, ax=ax, node_color=colors, edgecolors="#222222", linewidths=widths, node_size=600)
    nx.draw_networkx_labels(graph, layout, labels={n: graph.nodes[n].get("label", n) for n in graph}, ax=ax, font_size=font_size)
    ax.set_title(title)
    ax.axis("off")
    fig.tight_layout()
    out = {}
    for fmt in ("svg", "png"):
        buffer = io.BytesIO()
        fig.savefig(buffer, format=fmt, dpi=110, metadata={"Date": None} if fmt == "svg" else None)
        out[fmt] = buffer.getvalue()
    plt.close(fig)
    return out
