"""The care pathway as a graph: steps (gk:PathwayStep), gk:nextStep links and the classes at each step.

Built from the ontology, checked for steps nobody can reach and for dead ends, drawn as inline
SVG (:mod:`guidekg.review.svg`) with the condition of each edge (the classes a patient must
be in to stand at the target step), and used to show one patient where they stand and the
one step that really comes next.

``queries/review/pathway.csv`` (data, not code) adds what the ontology's step graph leaves
implicit: the scope classes that take a patient off the pathway (an 'out of scope' exit) and
the step that branches into one node per class (first line, including ECOG 3-4).
"""

from __future__ import annotations

import csv
from dataclasses import dataclass, field

import networkx as nx
from rdflib import RDF, RDFS, Graph, URIRef

from . import resources
from .namespaces import GK, curie, expand

EXIT = "exit:out-of-scope"


@dataclass
class Pathway:
    graph: nx.DiGraph
    entry: str | None
    final: str | None
    class_steps: dict[str, str] = field(default_factory=dict)
    class_labels: dict[str, str] = field(default_factory=dict)
    class_logic: dict[str, str] = field(default_factory=dict)
    exits: dict[str, str] = field(default_factory=dict)
    branches: dict[str, list[str]] = field(default_factory=dict)
    phases: dict[str, str] = field(default_factory=dict)

    def depth(self) -> dict[str, int]:
        """Longest distance from the entry step, self-loops and back edges ignored (pathway order)."""
        if self.entry is None:
            return {n: 0 for n in self.graph}
        dag = nx.DiGraph(self.graph.edges())
        dag.add_nodes_from(self.graph)
        dag.remove_edges_from(nx.selfloop_edges(dag))
        while not nx.is_directed_acyclic_graph(dag):
            cycle = nx.find_cycle(dag, self.entry)
            dag.remove_edge(*cycle[-1][:2])
        out = {self.entry: 0}
        for node in nx.topological_sort(dag):
            for succ in dag.successors(node):
                if node in out:
                    out[succ] = max(out.get(succ, 0), out[node] + 1)
        return out

    def order(self) -> list[str]:
        depth = self.depth()
        return sorted(self.graph, key=lambda n: (depth.get(n, 10**6), n))

    def steps_of(self, classes) -> list[str]:
        """Every step a patient in these classes stands at (curies, pathway order)."""
        depth = self.depth()
        found = {self.class_steps[curie(str(c))] for c in classes if curie(str(c)) in self.class_steps} & set(self.graph)
        return sorted(found, key=lambda s: (depth.get(s, 0), s))

    def classes_at(self, step: str) -> list[str]:
        return sorted(c for c, s in self.class_steps.items() if s == step)

    def next_steps(self, steps: list[str]) -> list[str]:
        """Every successor of the given steps (the pathway's shape, not one patient's next step)."""
        return sorted({n for s in steps for n in self.graph.successors(s) if n not in steps})

    def position(self, classes, phases=()) -> tuple[list[str], list[str]]:
        """(where the patient is now, the real next step), from the patient's classes and phase.

        Now is the most advanced step any of the patient's classes places them at (a patient
        at hepatectomy is also in the diagnosis-step MDT class, but is not at diagnosis), or
        the step their recorded treatment phase implies when that is further on, or 'out of
        scope' when a scope class holds. Next is the successor of that step whose classes the
        patient is already in; if none is, the successors other than a repeat of the current
        step (or the repeat itself when it is the only way on).
        """
        names = {curie(str(c)) for c in classes}
        if names & set(self.exits):
            return [EXIT], []
        depth = self.depth()
        steps = self.steps_of(names)
        steps += [self.phases[curie(str(p))] for p in phases if curie(str(p)) in self.phases and self.phases[curie(str(p))] in self.graph]
        if not steps:
            return [], [self.entry] if self.entry else []
        deepest = max(depth.get(s, 0) for s in steps)
        now = sorted({s for s in steps if depth.get(s, 0) == deepest})
        successors = sorted({n for s in now for n in self.graph.successors(s)}, key=lambda n: (depth.get(n, 0), n))
        onward = [n for n in successors if n not in now]
        entered = [n for n in onward if names & set(self.classes_at(n))]
        return now, entered or onward or successors


def _rows() -> list[dict[str, str]]:
    path = resources.path("queries", "review/pathway.csv")
    with path.open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


def build_pathway(graph: Graph) -> Pathway:
    from .logic import read_axioms
    from .review.manchester import render

    net = nx.DiGraph()
    for step in sorted(graph.subjects(RDF.type, GK.PathwayStep), key=str):
        label = graph.value(step, RDFS.label)
        net.add_node(curie(str(step)), kind="step", label=str(label) if label else curie(str(step)))
    for s, o in sorted(graph.subject_objects(GK.nextStep), key=str):
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
    ax = read_axioms(graph)
    labels, logic = {}, {}
    rows = _rows()
    wanted = set(class_steps) | {r["iri"] for r in rows}
    for cls in wanted:
        iri = expand(cls)
        labels[cls] = str(graph.value(URIRef(iri), RDFS.label) or cls.removeprefix("gk:"))
        logic[cls] = render(ax.definitions[iri]) if iri in ax.definitions else ""
    exits = {r["iri"]: r["step"] for r in rows if r["kind"] == "exit" and (URIRef(expand(r["iri"])), None, None) in graph}
    branches: dict[str, list[str]] = {}
    for r in rows:
        if r["kind"] == "branch" and r["step"] in net:
            group = expand(r["iri"])
            branches[r["step"]] = sorted(c for c in class_steps if class_steps[c] == r["step"]
                                         and group in ax.ancestors(expand(c)))
    phases = {r["iri"]: r["step"] for r in rows if r["kind"] == "phase"}
    return Pathway(net, entry, final, class_steps, labels, logic, exits, branches, phases)


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


def _condition(path: Pathway, step: str) -> tuple[str, str]:
    """(short label, full logic) of being at a step: the labels and definitions of its classes."""
    classes = path.classes_at(step)
    short = " or ".join(path.class_labels.get(c, c) for c in classes) or "no class: always"
    full = "\n".join(f"{c} ≡ {path.class_logic.get(c) or '(no definition)'}" for c in classes) or "no decision class"
    return short, full


def svg(path: Pathway, now: list[str] = (), upcoming: list[str] = (), title: str = "Care pathway",
        link=lambda item: f"#cls-{item.removeprefix('gk:')}") -> str:
    """The pathway as inline SVG: steps left to right, conditions on edges, every branch and the scope exit."""
    from .review.svg import Edge, Node, render

    depth = path.depth()
    nodes: list[Node] = []
    edges: list[Edge] = []
    shift: dict[str, int] = {}
    for step, classes in path.branches.items():
        if classes:
            for n in path.graph:
                if depth.get(n, 0) > depth.get(step, 0):
                    shift[n] = 1

    def kind(node: str, classes: list[str]) -> str:
        return "current" if node in now or set(classes) & set(now) else "next" if node in upcoming or set(classes) & set(upcoming) else "step"

    for n in path.order():
        layer = depth.get(n, 0) + shift.get(n, 0)
        classes = path.classes_at(n)
        tip = f"{path.graph.nodes[n]['label']} ({n})\nClasses here:\n" + _condition(path, n)[1]
        href = link(classes[0]) if classes else ""
        nodes.append(Node(n, path.graph.nodes[n]["label"], kind(n, classes), layer, (), tip, href))
    for s, t in sorted(path.graph.edges()):
        short, full = _condition(path, t)
        if t in path.branches and path.branches[t]:
            short = "a first-line class holds" if s != t else short
        edges.append(Edge(s, t, short, f"{s} → {t}: the patient is in\n{full}"))
    for step, classes in sorted(path.branches.items()):
        for cls in classes:
            node = f"branch:{cls}"
            nodes.append(Node(node, path.class_labels.get(cls, cls), kind(node, [cls]), depth.get(step, 0) + 1, (cls,),
                              f"{cls}: {path.class_logic.get(cls, '')}", link(cls)))
            edges.append(Edge(step, node, path.class_logic.get(cls, ""), f"{cls} ≡ {path.class_logic.get(cls, '')}"))
            for succ in sorted(path.graph.successors(step)):
                edges.append(Edge(node, succ))
        edges[:] = [e for e in edges if not (e.source == step and not e.target.startswith("branch:"))]
    if path.exits:
        step = sorted(set(path.exits.values()))[0]
        nodes.append(Node(EXIT, "out of scope: use other guidance", "exit" if EXIT not in now else "current",
                          depth.get(step, 0) + 1, ("~",), "\n".join(f"{c} ≡ {path.class_logic.get(c, '')}" for c in sorted(path.exits)),
                          link(sorted(path.exits)[0])))
        edges.append(Edge(step, EXIT, " or ".join(path.class_labels.get(c, c) for c in sorted(path.exits)),
                          "\n".join(f"{c} ≡ {path.class_logic.get(c, '')}" for c in sorted(path.exits)), dashed=True))
    palette = {"step": "#c7e9c0", "current": "#fd8d3c", "next": "#fee391", "exit": "#f0f0f0"}
    legend = {"step": "pathway step / branch", "current": "patient is here", "next": "real next step",
              "exit": "leaves the pathway"}
    return render(nodes, edges, palette, legend, title, node_width=160, gap=220, label_width=30, ident="pathway-svg")


def draw_pathway(path: Pathway, current: list[str] = (), title: str = "Care pathway", upcoming: list[str] = ()) -> dict[str, bytes]:
    """{'svg': bytes}: the pathway, the patient's step in orange, the real next step in yellow."""
    return {"svg": svg(path, list(current), list(upcoming), title).encode("utf-8")}


def standalone(svg_text: str) -> str:
    """An SVG document for ``guidekg pathway --out x.svg`` (links point into the review page)."""
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + svg_text


__all__ = ["EXIT", "Pathway", "build_pathway", "draw_pathway", "pathway_problems", "svg"]
