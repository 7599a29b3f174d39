"""The care pathway as a graph: steps (gk:PathwayStep), gk:nextStep links and the classes at each step.

Built from the ontology, checked for steps nobody can reach and for dead ends, drawn with
matplotlib, and used to show one patient where they stand (the steps of their classes) and
what can come next.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import networkx as nx
from rdflib import RDF, Graph, URIRef

from .namespaces import GK, curie


@dataclass
class Pathway:
    graph: nx.DiGraph
    entry: str | None
    final: str | None
    class_steps: dict[str, str] = field(default_factory=dict)

    def steps_of(self, classes: set[str] | frozenset[str]) -> list[str]:
        """Where a patient in these classes stands (curies of steps, pathway order)."""
        order = {n: i for i, n in enumerate(self.order())}
        return sorted({self.class_steps[curie(c)] for c in classes if curie(c) in self.class_steps} & set(self.graph),
                      key=lambda s: order.get(s, 0))

    def next_steps(self, steps: list[str]) -> list[str]:
        return sorted({n for s in steps for n in self.graph.successors(s) if n not in steps})

    def order(self) -> list[str]:
        if self.entry is None:
            return sorted(self.graph)
        lengths = nx.single_source_shortest_path_length(self.graph, self.entry)
        return sorted(self.graph, key=lambda n: (lengths.get(n, 10**6), n))


def build_pathway(graph: Graph) -> Pathway:
    net = nx.DiGraph()
    for step in graph.subjects(RDF.type, GK.PathwayStep):
        label = graph.value(step, URIRef("http://www.w3.org/2000/01/rdf-schema#label"))
        net.add_node(curie(str(step)), kind="step", label=str(label) if label else curie(str(step)))
    for s, o in graph.subject_objects(GK.nextStep):
        net.add_edge(curie(str(s)), curie(str(o)))
    for node in net:
        net.nodes[node].setdefault("kind", "other")
        net.nodes[node].setdefault("label", node)
    roots = sorted(n for n in net if not any(p != n for p in net.predecessors(n)))
    entry = roots[0] if roots else None
    sinks = [n for n in net if not any(s != n for s in net.successors(n))]
    final = None
    if sinks and entry is not None:
        lengths = nx.single_source_shortest_path_length(net, entry)
        final = max(sinks, key=lambda n: (lengths.get(n, -1), n))
    class_steps = {curie(str(c)): curie(str(s)) for c, s in graph.subject_objects(GK.pathwayStep)}
    return Pathway(net, entry, final, class_steps)


def pathway_problems(path: Pathway) -> list[tuple[str, str, str]]:
    """(rule, subject, message) for unreachable steps, dead ends, unknown and unused steps."""
    out = []
    reachable = set(nx.descendants(path.graph, path.entry)) | {path.entry} if path.entry else set()
    for node in sorted(path.graph):
        if node not in reachable:
            out.append(("pathway_unreachable_step", node, f"{node} cannot be reached from {path.entry}"))
        if node != path.final and not any(s != node for s in path.graph.successors(node)):
            out.append(("pathway_dead_end", node, f"{node} has no next step and is not the final step {path.final}"))
    for cls, step in sorted(path.class_steps.items()):
        if step not in path.graph:
            out.append(("pathway_step_unknown", cls, f"{cls} points to {step}, which is not a gk:PathwayStep"))
    used = set(path.class_steps.values())
    for node in sorted(set(path.graph) - used):
        out.append(("pathway_step_without_class", node, f"no decision class has gk:pathwayStep {node}"))
    return out


def layout(path: Pathway) -> dict:
    """Layers by distance from the entry step, left to right."""
    lengths = nx.single_source_shortest_path_length(path.graph, path.entry) if path.entry else {}
    deepest = max(lengths.values(), default=0)
    for node in path.graph:
        path.graph.nodes[node]["layer"] = lengths.get(node, deepest + 1)
    return nx.multipartite_layout(path.graph, subset_key="layer")


def draw_pathway(path: Pathway, current: list[str] = (), title: str = "Care pathway") -> dict[str, bytes]:
    """SVG and PNG of the pathway; current steps in orange, next steps in yellow."""
    from .review.drawing import draw

    graph = path.graph.copy()
    upcoming = path.next_steps(list(current))
    for node in graph:
        graph.nodes[node]["kind"] = "current" if node in current else "next" if node in upcoming else "step"
        graph.nodes[node]["label"] = "\n".join(_wrap(graph.nodes[node]["label"]))
    return draw(graph, layout(Pathway(graph, path.entry, path.final, path.class_steps)), title, highlight=current, size=(13, 6))


def _wrap(text: str, width: int = 18) -> list[str]:
    lines, line = [], ""
    for word in text.split():
        if line and len(line) + len(word) > width:
            lines.append(line)
            line = word
        else:
            line = f"{line} {word}".strip()
    return lines + [line]
