"""The per-Knowledge tables the plan verdicts and the headline look things up in.

Built once from ``queries/plan_*.rq``, ``queries/shape_verdicts.rq`` and
``queries/class_flags.rq`` (the million-patient path must not run SPARQL per patient).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from rdflib import Graph

from .. import resources
from ..namespaces import GK

if TYPE_CHECKING:
    from ..knowledge import Knowledge


@dataclass(frozen=True)
class Verdict:
    iri: str
    code: str
    severity: str | None
    rank: int
    alert: str | None


@dataclass
class Item:
    """A recommendation or an alert, as the plan sees it."""

    iri: str
    kind: str  # "rec" or "alert"
    label: str | None = None
    actions: set[str] = field(default_factory=set)
    avoid: bool = False
    category: str | None = None
    judged_by: set[str] = field(default_factory=set)
    phases: set[str] = field(default_factory=set)
    continues: bool = False
    missing: set[str] = field(default_factory=set)
    precedes: set[str] = field(default_factory=set)  # categories this recommendation must come before
    open_choice: bool = False  # gk:leavesChoiceToTeam: other actions of its category are not ruled out

    @property
    def proposes(self) -> bool:
        """True when its actions are recommended outright (not avoided, not left to a shape)."""
        return self.kind == "rec" and not self.avoid and not self.judged_by

    def applies_in(self, phases: frozenset[str]) -> bool:
        return not self.phases or not phases or bool(self.phases & phases)


@dataclass
class ShapeRule:
    iri: str
    alert: str
    judges: set[str] = field(default_factory=set)
    verdict: str | None = None
    missing: set[str] = field(default_factory=set)


@dataclass
class PlanTables:
    types: dict[str, frozenset[str]]  # action -> itself and every class it belongs to
    labels: dict[str, str]
    written: dict[str, str]
    codes: dict[str, list[dict[str, str]]]
    links: dict[str, frozenset[str]]  # action -> actions it is consistent with
    items: dict[str, Item]
    verdicts: dict[str, Verdict]  # verdict IRI -> verdict
    by_code: dict[str, Verdict]
    shapes_by_alert: dict[str, ShapeRule]
    general_classes: frozenset[str]
    categories: dict[str, frozenset[str]]  # action -> categories of the recommendations proposing it
    first_line: frozenset[str] = frozenset()  # the first-line systemic classes

    def verdict(self, code: str) -> Verdict:
        return self.by_code[code]

    def action_types(self, action: str) -> frozenset[str]:
        found = self.types.get(action)
        return found if found is not None else frozenset((action,))


def _run(graph: Graph, name: str) -> list[dict[str, Any]]:
    from rdflib.plugins.sparql import prepareQuery  # imported on demand: the compiled knowledge cache skips it

    result = graph.query(prepareQuery(resources.query_text(name)))
    return [{str(k): (None if row[k] is None else row[k]) for k in result.vars} for row in result]


def build_tables(kb: Knowledge) -> PlanTables:
    """Read the plan vocabulary from the ontology and the shapes (once per Knowledge)."""
    graph = kb.graph
    types: dict[str, set[str]] = {}
    labels: dict[str, str] = {}
    written: dict[str, str] = {}
    codes: dict[str, list[dict[str, str]]] = {}
    for row in _run(graph, "plan_actions"):
        action = str(row["action"])
        types.setdefault(action, {action}).add(str(row["class"]))
        if row["label"] is not None:
            labels.setdefault(action, str(row["label"]))
        if row["written"] is not None:
            written.setdefault(action, str(row["written"]))
        if row["code"] is not None:
            code = {"system": str(row["system"]), "code": str(row["code"])}
            if code not in codes.setdefault(action, []):
                codes[action].append(code)
    links: dict[str, set[str]] = {}
    for row in _run(graph, "plan_links"):
        links.setdefault(str(row["action"]), set()).add(str(row["other"]))
    items: dict[str, Item] = {}
    for row in _run(graph, "plan_rules"):
        item = items.setdefault(str(row["item"]), Item(str(row["item"]), str(row["kind"])))
        if row["label"] is not None and item.label is None:
            item.label = str(row["label"])
        if row["action"] is not None:
            item.actions.add(str(row["action"]))
        if row["intent"] is not None and str(row["intent"]) == "avoid":
            item.avoid = True
        if row["category"] is not None:
            item.category = str(row["category"])
        if row["judgedBy"] is not None:
            item.judged_by.add(str(row["judgedBy"]))
        if row["phase"] is not None:
            item.phases.add(str(row["phase"]))
        if row["continues"] is not None and row["continues"].toPython() is True:
            item.continues = True
        if row["missing"] is not None:
            item.missing.add(str(row["missing"]))
        if row["precedes"] is not None:
            item.precedes.add(str(row["precedes"]))
        if row["open"] is not None and row["open"].toPython() is True:
            item.open_choice = True
    verdicts: dict[str, Verdict] = {}
    for row in _run(graph, "plan_verdicts"):
        verdicts[str(row["verdict"])] = Verdict(
            str(row["verdict"]), str(row["code"]), None if row["severity"] is None else str(row["severity"]),
            int(row["rank"].toPython()), None if row["alert"] is None else str(row["alert"]))
    shapes: dict[str, ShapeRule] = {}
    for row in _run(resources.shared_graph("shapes", *resources.SHAPES), "shape_verdicts"):
        rule = shapes.setdefault(str(row["alert"]), ShapeRule(str(row["shape"]), str(row["alert"])))
        if row["judges"] is not None:
            rule.judges.add(str(row["judges"]))
        if row["verdict"] is not None:
            rule.verdict = str(row["verdict"])
        if row["missing"] is not None:
            rule.missing.add(str(row["missing"]))
    categories: dict[str, set[str]] = {}
    for item in items.values():
        if item.proposes and item.category:
            for action in item.actions:
                categories.setdefault(action, set()).add(item.category)
    for action, others in links.items():  # a compatible way of doing B belongs where B does
        for other in others:
            categories.setdefault(action, set()).update(categories.get(other, ()))
    general = frozenset(str(row["class"]) for row in _run(graph, "class_flags"))
    return PlanTables(
        types={a: frozenset(t) for a, t in types.items()}, labels=labels, written=written, codes=codes,
        links={a: frozenset(o) for a, o in links.items()}, items=items, verdicts=verdicts,
        by_code={v.code: v for v in verdicts.values()}, shapes_by_alert=shapes, general_classes=general,
        categories={a: frozenset(c) for a, c in categories.items()},
        first_line=frozenset(kb.axioms.descendants(str(GK.FirstLineSystemicClass)) - {str(GK.FirstLineSystemicClass)}))


PLANNED = str(GK.plannedAction)
CURRENT = str(GK.currentRegimen)
PHASE = str(GK.treatmentPhase)
