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


@pytest.mark.parametrize("query, local", [
    ("SELECT ?this WHERE { ?this ex:a ?x . FILTER (?x > 1) }", True),
    ("SELECT ?this WHERE { ?this ex:a/ex:b ?x . FILTER NOT EXISTS { ?this ex:c ?y } }", True),
    ("SELECT ?this WHERE { ?this ex:a ?x . FILTER (STRSTARTS(STR(?this), \"urn\")) }", False),
    ("SELECT ?this WHERE { ?this ex:a ?x . ?y ex:b ?this }", False),
    ("SELECT ?this ?v WHERE { ?this ex:a ?x . BIND (?this AS ?v) }", False),
    ("SELECT ?this WHERE { ?this ex:a ?x . FILTER NOT EXISTS { ?this ex:b ?this } }", False),
    ("SELECT ?this WHERE { ?this ex:a ?x . FILTER EXISTS { ?z ex:b ?w . FILTER (?w = ?this) } }", False),
    ("SELECT ?this WHERE { VALUES ?this { ex:p } ?this ex:a ?x }", False),
])
def test_only_a_query_that_sees_its_focus_through_its_own_facts_is_focus_local(query, local):
    """Memoising a check by the patient's facts is exact only if the query never looks at the
    focus IRI itself (a FILTER or BIND on it) or at triples pointing to it."""
    assert footprint(PREFIX + query).focus_local is local


def test_narrowing_keeps_only_predicates_named_once_in_a_conjunctive_pattern():
    from rdflib import URIRef
    from rdflib.paths import Path

    from guidekg.sparql_footprint import narrowing

    found = narrowing(PREFIX + """SELECT ?this WHERE { ?this ex:a ex:v ; ex:b ?x ; ex:c ?y ; ex:d ?z ;
        a ex:Patient . ?x ex:type/ex:sub* ex:C . ?z ex:e ?w
        OPTIONAL { ?this ex:f ex:v }  FILTER NOT EXISTS { ?this ex:c ex:w } }""")
    assert found[EX + "a"] == (EX + "v", ())  # one object
    assert found[EX + "b"][0] is None and [c[0] for c in found[EX + "b"][1]] == ["subject"]
    assert isinstance(found[EX + "b"][1][0][1], Path) and found[EX + "b"][1][0][2] == EX + "C"
    assert EX + "c" not in found  # also read in FILTER NOT EXISTS: every value matters
    assert EX + "d" not in found  # ?z meets no condition on constants
    assert EX + "f" not in found  # optional
    assert str(URIRef("http://www.w3.org/1999/02/22-rdf-syntax-ns#type")) not in found  # every patient has one
