"""Class expressions compiled to one generated Python function, evaluated in dependency order.

:class:`guidekg.logic.Evaluator` walks the AST and repeats rounds over every definition
until nothing changes: simple and obviously right, and the reference the tests compare
against, but ~4 ms a patient. Here the definitions are translated once, when the ontology is
read, into the source of a single Python function (one ``if`` per defined class, in
topological order of the classes each definition depends on) and compiled with
:func:`compile`. Nothing in it is written by hand: every test in the generated code comes
from an axiom, so editing the ontology changes it exactly as it changes HermiT.

Why generated source and not closures: a closure tree pays a Python call and a generator per
node (~0.5 ms a patient here); the generated function is flat ``and``/``or`` over set
lookups on a per-patient view of the facts (IRI values as strings, numbers as Decimals)
built once per patient.

The fragment has no negation, so one pass in dependency order reaches the least fixpoint;
another pass runs only when facts implied by class axioms add something new, or when the
definitions are cyclic (then passes repeat until nothing changes, as in the reference).
"""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from typing import Any

from rdflib import XSD, Literal, URIRef
from rdflib.term import Node

from ..logic import (
    NUMERIC,
    And,
    Axioms,
    DataRange,
    Evaluator,
    Expr,
    HasValue,
    Named,
    Or,
    Some,
    UnsupportedConstruct,
    literal_in_range,
    same_value,
)
from ..logic import _number as _bound

Facts = dict[str, list[Node]]

_INTEGER_TYPES = {str(XSD.integer), str(XSD.int), str(XSD.long), str(XSD.nonNegativeInteger)}
_EMPTY: frozenset[str] = frozenset()
_COMPARE = {str(XSD.minInclusive): ">=", str(XSD.maxInclusive): "<=", str(XSD.minExclusive): ">", str(XSD.maxExclusive): "<"}


def _named_dependencies(expr: Expr) -> set[str]:
    if isinstance(expr, Named):
        return {expr.iri}
    if isinstance(expr, (And, Or)):
        return set().union(*(_named_dependencies(p) for p in expr.parts))
    return set()


def _number(value: Literal) -> Decimal | None:
    """The value a numeric literal denotes (None for non-numbers), as :func:`guidekg.logic.literal_in_range` reads it."""
    if str(value.datatype or "") not in NUMERIC:
        return None
    python = value.toPython()
    if isinstance(python, bool) or not isinstance(python, (int, float, Decimal)):
        return None
    return Decimal(str(python))


class _SameValue:
    """``same_value(v, target)`` remembered per literal: rdflib's literal comparison is slow
    and a population repeats the same few values ('true', 'false', small numbers)."""

    def __init__(self, target: Literal) -> None:
        self.target = target
        self.seen: dict[Literal, bool] = {}

    def __call__(self, value: Literal) -> bool:
        try:
            return self.seen[value]
        except KeyError:
            if len(self.seen) > 10_000:
                self.seen.clear()
            answer = self.seen[value] = same_value(value, self.target)
            return answer
        except TypeError:  # an unhashable odd value: compare directly
            return same_value(value, self.target)


class _View:
    """One patient's facts as the generated code reads them (built once per patient)."""

    __slots__ = ("iris", "literals", "numbers")

    def __init__(self, facts: Facts, numbers_of: Callable[[Literal], Decimal | None]) -> None:
        self.iris: dict[str, frozenset[str]] = {}
        self.literals: dict[str, list[Literal]] = {}
        self.numbers: dict[str, list[Decimal]] = {}
        for prop, values in facts.items():
            if len(values) == 1 and type(values[0]) is URIRef:  # most facts: one value individual
                self.iris[prop] = frozenset((str(values[0]),))
            else:
                self.add(prop, values, numbers_of)

    def add(self, prop: str, values: list[Node], numbers_of: Callable[[Literal], Decimal | None]) -> None:
        iris = [str(v) for v in values if isinstance(v, URIRef)]
        if iris:
            self.iris[prop] = self.iris.get(prop, _EMPTY) | frozenset(iris)
        literals = [v for v in values if isinstance(v, Literal)]
        if literals:
            self.literals.setdefault(prop, []).extend(literals)
            numbers = [n for n in map(numbers_of, literals) if n is not None]
            if numbers:
                self.numbers.setdefault(prop, []).extend(numbers)


class CompiledEvaluator:
    """Same answers as :meth:`Evaluator.saturate`, compiled once per ontology."""

    def __init__(self, evaluator: Evaluator, given: tuple[str, ...] = ()) -> None:
        """``given``: classes every saturate() call asserts (the patient class). Definitions
        that name them or their ancestors need not wait for the many classes that imply them."""
        self.reference = evaluator
        self.ax: Axioms = evaluator.ax
        self._given: frozenset[str] = frozenset().union(*(self.ax.ancestors(c) for c in given))
        self._numbers: dict[Literal, Decimal | None] = {}
        self._constants: list[Any] = []
        order, self._acyclic = self._order()
        self.order: list[str] = order  # the mask classifier (atoms.py) reuses it
        self.source = self._generate(order)
        namespace: dict[str, Any] = {"K": self._constants, "E": _EMPTY}
        exec(compile(self.source, "<guidekg compiled class definitions>", "exec"), namespace)  # noqa: S102
        self._pass: Callable[[dict, dict, dict, set], None] = namespace["classify"]
        self._implied = list(self.ax.implied_facts.items())

    # ---------------------------------------------------------------- compilation

    def _order(self) -> tuple[list[str], bool]:
        """Defined classes so that each comes after every defined class that can make the
        classes its definition names true: the named class itself if defined, and any defined
        class it is a told superclass of (deriving a subclass adds its ancestors).

        Returns the order and whether it is acyclic (then one pass reaches the fixpoint).
        """
        defined = set(self.ax.definitions)
        makers: dict[str, set[str]] = {}
        for cls in defined:
            for ancestor in self.ax.ancestors(cls):
                makers.setdefault(ancestor, set()).add(cls)
        deps: dict[str, set[str]] = {}
        for cls, expr in self.ax.definitions.items():
            deps[cls] = set()
            for name in _named_dependencies(expr) - self._given:
                deps[cls] |= makers.get(name, set())
            deps[cls].discard(cls)  # deriving cls cannot help derive cls
        order: list[str] = []
        state: dict[str, int] = {}
        acyclic = True

        def visit(cls: str) -> None:
            nonlocal acyclic
            if state.get(cls) == 2:
                return
            if state.get(cls) == 1:
                acyclic = False  # a cycle: resolved by repeating passes in saturate()
                return
            state[cls] = 1
            for dep in sorted(deps[cls]):
                visit(dep)
            state[cls] = 2
            order.append(cls)

        for cls in sorted(deps):
            visit(cls)
        return order, acyclic

    def _constant(self, value: Any) -> str:
        self._constants.append(value)
        return f"K[{len(self._constants) - 1}]"

    def _generate(self, order: list[str]) -> str:
        lines = ["def classify(I, L, N, C):"]
        for cls in order:
            ancestors = self._constant(frozenset(self.ax.ancestors(cls)))
            lines.append(f"    if {cls!r} not in C and {self._expr(self.ax.definitions[cls])}:")
            lines.append(f"        C |= {ancestors}")
        lines.append("    return None")
        return "\n".join(lines) + "\n"

    def _expr(self, expr: Expr) -> str:
        if isinstance(expr, Named):
            return f"({expr.iri!r} in C)"
        if isinstance(expr, And):
            return "(" + " and ".join(self._expr(p) for p in expr.parts) + ")"
        if isinstance(expr, Or):
            return "(" + " or ".join(self._expr(p) for p in expr.parts) + ")"
        if isinstance(expr, HasValue):
            if isinstance(expr.value, URIRef):
                return f"({str(expr.value)!r} in I.get({expr.prop!r}, E))"
            return f"any({self._constant(_SameValue(expr.value))}(v) for v in L.get({expr.prop!r}, ()))"
        if isinstance(expr, Some):
            members = frozenset(i for i in self.ax.individual_types if expr.cls in self.reference.value_types(i))
            return f"(not {self._constant(members)}.isdisjoint(I.get({expr.prop!r}, E)))"
        return self._range(expr)

    def _range(self, expr: DataRange) -> str:
        if expr.datatype not in NUMERIC:
            helper = self._constant(lambda values, d=expr.datatype, f=expr.facets: any(literal_in_range(v, d, f) for v in values))
            return f"{helper}(L.get({expr.prop!r}, ()))"
        conditions = []
        for facet, bound in expr.facets:
            if facet not in _COMPARE:
                raise UnsupportedConstruct(f"facet {facet} on {expr.prop} (read_axioms should have refused it)")
            number = _bound(bound)
            if number is None:
                return "False"  # a bound that is no number: literal_in_range says False for every value
            conditions.append(f"n {_COMPARE[facet]} {self._constant(number)}")
        if expr.datatype in _INTEGER_TYPES:
            conditions.append("n == n.to_integral_value()")
        test = " and ".join(conditions) or "True"
        return f"any({test} for n in N.get({expr.prop!r}, ()))"

    # ---------------------------------------------------------------- evaluation

    def _number_of(self, value: Literal) -> Decimal | None:
        try:
            return self._numbers[value]
        except KeyError:
            number = _number(value)
            if len(self._numbers) > 20_000:
                self._numbers.clear()
            self._numbers[value] = number
            return number

    def saturate(self, facts: Facts, asserted: tuple[str, ...]) -> tuple[set[str], Facts]:
        """All classes and facts of one patient (the least fixpoint, as the reference computes).

        ``facts`` is not modified; the returned facts are a new dict only when class axioms
        implied new values.
        """
        view = _View(facts, self._number_of)
        classes: set[str] = set()
        for cls in asserted:
            classes |= self.ax.ancestors(cls)
        one_pass = self._acyclic and self._given <= classes
        applied: set[str] = set()
        saturated = facts
        while True:
            before = len(classes)
            self._pass(view.iris, view.literals, view.numbers, classes)
            added = False
            for cls, implied in self._implied:
                if cls in classes and cls not in applied:
                    applied.add(cls)
                    for prop, value in implied:
                        bucket = saturated.get(prop, [])
                        if not any(same_value(value, v) for v in bucket):
                            if saturated is facts:
                                saturated = dict(facts)
                            saturated[prop] = [*bucket, value]
                            view.add(prop, [value], self._number_of)
                            added = True
            if not added and (one_pass or len(classes) == before):
                return classes, saturated
