"""What a SPARQL check can read of a patient (guidekg.sparql_footprint): sound, never too narrow.

The batch validator loads only the predicates a check names and only the patients it can
match, so a footprint that missed a predicate (for example one inside FILTER NOT EXISTS)
would silently drop findings. Each case here is one way a query can read or require a fact.
"""

from __future__ import annotations

import pytest

from guidekg.fastvalidate import compile_validator
from guidekg.sparql_footprint import footprint

EX = "http://example.org/"
PREFIX = f"PREFIX ex: <{EX}>\n"


def test_predicates_inside_exists_and_not_exists_are_read():
    fp = footprint(PREFIX + """SELECT ?this WHERE { ?this ex:a ?x .
        FILTER (NOT EXISTS { ?this ex:b ?y } || EXISTS { ?this ex:c ?z . FILTER NOT EXISTS { ?z ex:d ?w } }) }""")
    assert fp.predicates == {EX + "a", EX + "b", EX + "c", EX + "d"}
    assert fp.required == ((EX + "a", None),)


def test_property_paths_name_every_step():
    fp = footprint(PREFIX + "SELECT ?this WHERE { ?this ex:a/ex:b* ?x . ?x (ex:c|^ex:d) ?y }")
    assert fp.predicates == {EX + "a", EX + "b", EX + "c", EX + "d"}


@pytest.mark.parametrize("query", [
    "SELECT ?this WHERE { ?this ?p ?x }",
    "SELECT ?this WHERE { ?this ex:a ?x . FILTER NOT EXISTS { ?x ?p ?y } }",
    "SELECT ?this WHERE { ?this !ex:a ?x }",
    "SELECT ?this WHERE { GRAPH ?g { ?this ex:a ?x } }",
])
def test_queries_that_may_read_anything_have_no_predicate_limit(query):
    assert footprint(PREFIX + query).predicates is None


def test_only_conjunctive_patterns_are_required():
    fp = footprint(PREFIX + """SELECT ?this WHERE { ?this ex:a ex:v ; ex:b ?x .
        OPTIONAL { ?this ex:c ?y }  { ?this ex:d ?z } UNION { ?this ex:e ?z }
        MINUS { ?this ex:f ?w }  FILTER NOT EXISTS { ?this ex:g ?q } }""")
    assert set(fp.required) == {(EX + "a", EX + "v"), (EX + "b", None)}


def test_a_subquery_that_does_not_project_the_focus_requires_nothing_of_it():
    fp = footprint(PREFIX + "SELECT ?this WHERE { ?this ex:a ?x . { SELECT ?x WHERE { ?this ex:b ?x } } }")
    assert fp.required == ((EX + "a", None),)
    fp = footprint(PREFIX + "SELECT ?this WHERE { { SELECT ?this WHERE { ?this ex:b ?x } } }")
    assert fp.required == ((EX + "b", None),)


def test_every_safety_check_reads_what_its_text_names():
    """The real checks: each predicate written after gk: in a triple pattern is in its footprint."""
    import re

    compiled = compile_validator()
    assert compiled is not None and compiled.sparql
    for check in compiled.sparql:
        named = set(re.findall(r"(?:\$this|\?\w+)\s+(gk:\w+)", check.query))
        assert check.footprint.predicates is not None
        read = {p.replace("https://w3id.org/guidekg/ontology#", "gk:") for p in check.footprint.predicates}
        assert named <= read, (check.shape, named - read)
