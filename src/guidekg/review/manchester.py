"""Manchester-syntax rendering of the logic AST, so authors read definitions, not Turtle."""

from __future__ import annotations

from rdflib import Literal

from ..logic import And, Expr, HasValue, Named, Or, Some
from ..namespaces import curie

_FACET = {"minInclusive": ">=", "maxInclusive": "<=", "minExclusive": ">", "maxExclusive": "<"}


def _name(iri: str) -> str:
    return curie(iri).split(":", 1)[-1] if ":" in curie(iri) else iri


def render(expr: Expr, nested: bool = False) -> str:
    """'MicrosatelliteStable and AllRASWildtype', 'krasStatus value KRAS_Wildtype', 'ecog some integer[<= 2]'."""
    if isinstance(expr, Named):
        return _name(expr.iri)
    if isinstance(expr, (And, Or)):
        word = " and " if isinstance(expr, And) else " or "
        text = word.join(render(p, nested=True) for p in expr.parts)
        return f"({text})" if nested else text
    if isinstance(expr, HasValue):
        value = str(expr.value).lower() if isinstance(expr.value, Literal) and isinstance(expr.value.toPython(), bool) else (
            str(expr.value) if isinstance(expr.value, Literal) else _name(str(expr.value)))
        return f"{_name(expr.prop)} value {value}"
    if isinstance(expr, Some):
        return f"{_name(expr.prop)} some {_name(expr.cls)}"
    facets = ", ".join(f"{_FACET[f.rsplit('#', 1)[-1]]} {v}" for f, v in expr.facets)
    return f"{_name(expr.prop)} some {_name(expr.datatype)}" + (f"[{facets}]" if facets else "")
