"""Explanations an author can check: the axioms involved (with file and line) and the smallest witness.

* :func:`justification` lists, for the classes a finding names, each definition in
  Manchester-like syntax with the file and line where it is written, followed by the defined
  classes it builds on and the property and disjointness axioms that make it clash.
* :func:`minimal` shrinks a witness profile: every fact whose removal keeps the problem is
  removed, so the witness table shows only the facts that matter, with one real value each
  (no "ecog=0 (or -1)" alternatives and no irrelevant facts filled with odd values).
* :func:`why_not` says, for a class a witness misses, which conjuncts fail.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from functools import lru_cache
from pathlib import Path

from rdflib import RDFS, URIRef

from ..logic import And, Axioms, Evaluator, Named
from ..namespaces import curie
from .manchester import render
from .model import OntologySet
from .profiles import ProfileSpace, Value, _walk, show

_SUBJECT = re.compile(r"^(gk:[A-Za-z_][\w.-]*)\s")


@lru_cache(maxsize=8)
def _index(folder: str, files: tuple[str, ...]) -> dict[str, tuple[str, int]]:
    """curie -> (file, line) of the first line that starts the resource's description."""
    out: dict[str, tuple[str, int]] = {}
    base = Path(folder)
    for name in files:
        path = base / name if base.is_dir() else base
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
            match = _SUBJECT.match(line)
            if match and match.group(1) not in out:
                out[match.group(1)] = (f"ontology/{path.name}" if base.is_dir() else path.name, number)
    return out


def locate(onto: OntologySet, iri: str) -> tuple[str, int]:
    return _index(onto.origin, tuple(onto.files)).get(curie(iri), ("", 0))


def _axiom(onto: OntologySet, ax: Axioms, cls: str) -> tuple[str, str, str]:
    file, line = locate(onto, cls)
    text = f"{curie(cls)} ≡ {render(ax.definitions[cls])}" if cls in ax.definitions else \
        f"{curie(cls)} ⊑ " + " and ".join(sorted(curie(s) for s in ax.superclasses.get(cls, ())))
    return text, file, str(line) if line else ""


def justification(onto: OntologySet, ax: Axioms, classes: Iterable[str], depth: int = 3) -> list[tuple[str, str, str]]:
    """The named classes' axioms, then the defined classes they reference (breadth first), then clashes."""
    seen: list[str] = []
    frontier = [c for c in classes if c in ax.definitions or ax.superclasses.get(c)]
    for _ in range(depth):
        nxt = []
        for cls in frontier:
            if cls in seen:
                continue
            seen.append(cls)
            expr = ax.definitions.get(cls)
            refs = sorted({e.iri for e in _walk(expr) if isinstance(e, Named)}) if expr is not None else \
                sorted(ax.superclasses.get(cls, ()))
            nxt += [r for r in refs if r in ax.definitions and r not in seen]
        frontier = nxt
    out = [_axiom(onto, ax, c) for c in seen]
    props = [e.prop for c in seen if c in ax.definitions for e in _walk(ax.definitions[c]) if hasattr(e, "prop")]
    for prop in sorted({p for p in props if props.count(p) > 1 and p in ax.functional}):
        file, line = locate(onto, prop)
        out.append((f"FunctionalProperty: {curie(prop)}", file, str(line) if line else ""))
    every = set(seen) | {a for c in seen for a in ax.ancestors(c)}
    for pair in sorted(ax.disjoint, key=sorted):
        if pair & every and len(pair & every) == 2:
            a, b = sorted(pair)
            file, line = locate(onto, a)
            out.append((f"DisjointClasses: {curie(a)}, {curie(b)}", file, str(line) if line else ""))
    return out


def minimal(space: ProfileSpace, index: dict[tuple, frozenset[str]], profile: tuple[Value, ...],
            keeps: Callable[[frozenset[str]], bool], fixed: Iterable[int] = (),
            also: Callable[[tuple[Value, ...]], bool] | None = None) -> tuple[Value, ...]:
    """Drop every fact (set it missing) whose removal keeps ``keeps(classes)`` (and ``also(profile)``) true."""
    current = profile
    frozen = set(fixed)
    for i, dim in enumerate(space.dimensions):
        if i in frozen or current[i] is None or None not in dim.values:
            continue
        candidate = current[:i] + (None,) + current[i + 1:]
        classes = index.get(candidate)
        if classes is not None and keeps(classes) and (also is None or also(candidate)):
            current = candidate
    return current


def relevant(space: ProfileSpace, index: dict[tuple, frozenset[str]], profile: tuple[Value, ...],
             keeps: Callable[[frozenset[str]], bool]) -> set[int]:
    """The facts that matter: those with another value (or 'missing') that makes the problem go away."""
    out = set()
    for i, dim in enumerate(space.dimensions):
        for value in dim.values:
            if value is profile[i] or value == profile[i]:
                continue
            classes = index.get(profile[:i] + (value,) + profile[i + 1:])
            if classes is not None and not keeps(classes):
                out.add(i)
                break
    return out


def witness(onto: OntologySet, space: ProfileSpace, profile: tuple[Value, ...], show_missing: Iterable[str] = (),
            only: set[int] | None = None) -> dict[str, str]:
    """Fact -> value for the facts that matter of a (minimal) profile; listed missing facts say 'missing'.

    Facts and values are shown by their labels (the curie when there is none), one real value
    each: a merged group of values is represented by the value the guideline itself names.
    """
    missing = set(show_missing)
    out: dict[str, str] = {}
    for i, (dim, value) in enumerate(zip(space.dimensions, profile, strict=True)):
        name = curie(dim.prop)
        wanted = name in missing or (i in only if only is not None else value is not None)
        if not wanted:
            continue
        label = onto.graph.value(URIRef(dim.prop), RDFS.label)
        out[str(label) if label else name] = "missing" if value is None else _value(onto, value)
    return out


def _value(onto: OntologySet, value: Value) -> str:
    if isinstance(value, URIRef):
        label = onto.graph.value(value, RDFS.label)
        return str(label) if label else show(value)
    return show(value)


def why_not(ax: Axioms, cls: str, facts: dict, classes: frozenset[str]) -> list[str]:
    """The conjuncts of cls's definition that fail for these facts (rendered), or the whole definition."""
    expr = ax.definitions.get(cls)
    if expr is None:
        return []
    evaluator = Evaluator(ax)
    parts = expr.parts if isinstance(expr, And) else [expr]
    failing = []
    for part in parts:
        ok = part.iri in classes if isinstance(part, Named) else evaluator.holds(part, facts, set(classes))
        if not ok:
            failing.append(render(part))
    return failing


__all__ = ["justification", "locate", "minimal", "relevant", "why_not", "witness"]
