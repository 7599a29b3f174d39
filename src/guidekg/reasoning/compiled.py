"""Class expressions compiled to Python closures, evaluated in dependency order.

:class:`guidekg.logic.Evaluator` walks the AST and repeats rounds over every definition
until nothing changes: simple and obviously right, and the reference the tests compare
against, but ~4 ms a patient. Here each definition becomes a closure once, definitions run
in topological order of the named classes they mention (so one pass reaches the fixpoint),
and facts implied by class axioms trigger another pass only when they add something new.
The fragment has no negation, so the result is the same least fixpoint.
"""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal

from rdflib import XSD, Literal, URIRef
from rdflib.term import Node

from ..logic import NUMERIC, And, Axioms, DataRange, Evaluator, Expr, HasValue, Named, Or, Some, same_value

Facts = dict[str, list[Node]]
Test = Callable[[Facts, set[str]], bool]

_INTEGER_TYPES = {str(XSD.integer), str(XSD.int), str(XSD.long), str(XSD.nonNegativeInteger)}


def _named_dependencies(expr: Expr) -> set[str]:
    if isinstance(expr, Named):
        return {expr.iri}
    if isinstance(expr, (And, Or)):
        return set().union(*(_named_dependencies(p) for p in expr.parts))
    return set()


class CompiledEvaluator:
    """Same answers as :meth:`Evaluator.saturate`, compiled once per ontology."""

    def __init__(self, evaluator: Evaluator) -> None:
        self.reference = evaluator
        self.ax: Axioms = evaluator.ax
        self._numbers: dict[Literal, Decimal | None] = {}
        self._tests: list[tuple[str, Test, frozenset[str]]] = []
        for cls in self._order():
            ancestors = frozenset(self.ax.ancestors(cls))
            self._tests.append((cls, self._compile(self.ax.definitions[cls]), ancestors))
        self._implied = list(self.ax.implied_facts.items())

    def _order(self) -> list[str]:
        """Defined classes so that each comes after the defined classes its definition names.

        A class reached as an *ancestor* of a defined class (a told superclass) is covered by
        adding ancestors when the subclass is derived; cycles, if an ontology had them, fall
        back to repeated passes in :meth:`saturate`.
        """
        deps = {c: _named_dependencies(e) & set(self.ax.definitions) for c, e in self.ax.definitions.items()}
        order: list[str] = []
        state: dict[str, int] = {}

        def visit(cls: str) -> None:
            if state.get(cls) == 2:
                return
            if state.get(cls) == 1:
                return  # cycle: resolved by the outer fixpoint loop
            state[cls] = 1
            for dep in sorted(deps[cls]):
                visit(dep)
            state[cls] = 2
            order.append(cls)

        for cls in sorted(deps):
            visit(cls)
        return order

    def _number(self, value: Literal) -> Decimal | None:
        try:
            return self._numbers[value]
        except KeyError:
            python = value.toPython() if str(value.datatype or "") in NUMERIC else None
            number = Decimal(str(python)) if isinstance(python, (int, float, Decimal)) and not isinstance(python, bool) else None
            if len(self._numbers) > 20_000:
                self._numbers.clear()
            self._numbers[value] = number
            return number

    def _compile(self, expr: Expr) -> Test:
        if isinstance(expr, Named):
            iri = expr.iri
            return lambda facts, classes: iri in classes
        if isinstance(expr, And):
            parts = [self._compile(p) for p in expr.parts]
            return lambda facts, classes: all(p(facts, classes) for p in parts)
        if isinstance(expr, Or):
            parts = [self._compile(p) for p in expr.parts]
            return lambda facts, classes: any(p(facts, classes) for p in parts)
        if isinstance(expr, HasValue):
            prop, target = expr.prop, expr.value
            if isinstance(target, URIRef):
                return lambda facts, classes: target in facts.get(prop, ())
            return lambda facts, classes: any(same_value(v, target) for v in facts.get(prop, ()))
        if isinstance(expr, Some):
            prop = expr.prop
            members = frozenset(URIRef(i) for i in self.ax.individual_types if expr.cls in self.reference.value_types(i))
            return lambda facts, classes: any(v in members for v in facts.get(prop, ()))
        return self._compile_range(expr)

    def _compile_range(self, expr: DataRange) -> Test:
        prop, datatype = expr.prop, expr.datatype
        if datatype not in NUMERIC:
            from ..logic import literal_in_range

            return lambda facts, classes: any(literal_in_range(v, datatype, expr.facets) for v in facts.get(prop, ()))
        integral = datatype in _INTEGER_TYPES
        bounds = [(facet, Decimal(str(value.toPython()))) for facet, value in expr.facets]
        checks = []
        for facet, bound in bounds:
            if facet == str(XSD.minInclusive):
                checks.append(lambda n, b=bound: n >= b)
            elif facet == str(XSD.maxInclusive):
                checks.append(lambda n, b=bound: n <= b)
            elif facet == str(XSD.minExclusive):
                checks.append(lambda n, b=bound: n > b)
            else:
                checks.append(lambda n, b=bound: n < b)
        number = self._number

        def test(facts: Facts, classes: set[str]) -> bool:
            for value in facts.get(prop, ()):
                if not isinstance(value, Literal):
                    continue
                n = number(value)
                if n is None or (integral and n != n.to_integral_value()):
                    continue
                if all(check(n) for check in checks):
                    return True
            return False

        return test

    def saturate(self, facts: Facts, asserted: tuple[str, ...]) -> tuple[set[str], Facts]:
        """All classes and facts of one patient (the least fixpoint, as the reference computes)."""
        facts = {p: list(v) for p, v in facts.items()}
        classes: set[str] = set()
        for cls in asserted:
            classes |= self.ax.ancestors(cls)
        applied: set[str] = set()
        while True:
            before = len(classes)
            for cls, test, ancestors in self._tests:
                if cls not in classes and test(facts, classes):
                    classes |= ancestors
            added = False
            for cls, implied in self._implied:
                if cls in classes and cls not in applied:
                    applied.add(cls)
                    for prop, value in implied:
                        bucket = facts.setdefault(prop, [])
                        if not any(same_value(value, v) for v in bucket):
                            bucket.append(value)
                            added = True
            if not added and len(classes) == before:
                return classes, facts
