"""The fast engine refuses OWL it would not evaluate exactly like HermiT, naming the class."""

from __future__ import annotations

import pytest
from rdflib import Graph

from guidekg.logic import UnsupportedConstruct, read_axioms
from guidekg.reasoning.fast import FastReasoner

PREFIXES = """
@prefix ex:   <https://example.org/t#> .
@prefix owl:  <http://www.w3.org/2002/07/owl#> .
@prefix rdfs: <http://www.w3.org/2000/01/rdf-schema#> .
@prefix xsd:  <http://www.w3.org/2001/XMLSchema#> .
ex:p a owl:ObjectProperty . ex:d a owl:DatatypeProperty . ex:A a owl:Class . ex:B a owl:Class .
"""

CASES = {
    "complementOf": "ex:NotA a owl:Class ; owl:equivalentClass [ a owl:Class ; owl:complementOf ex:A ] .",
    "allValuesFrom": "ex:OnlyA a owl:Class ; owl:equivalentClass [ a owl:Restriction ; owl:onProperty ex:p ; owl:allValuesFrom ex:A ] .",
    "cardinality": "ex:TwoP a owl:Class ; owl:equivalentClass [ a owl:Restriction ; owl:onProperty ex:p ; owl:minCardinality 2 ] .",
    "qualifiedCardinality": "ex:OneA a owl:Class ; owl:equivalentClass [ a owl:Restriction ; owl:onProperty ex:p ; owl:qualifiedCardinality 1 ; owl:onClass ex:A ] .",
    "oneOf": "ex:Enum a owl:Class ; owl:equivalentClass [ a owl:Class ; owl:oneOf ( ex:x ex:y ) ] .",
    "patternFacet": 'ex:Pat a owl:Class ; owl:equivalentClass [ a owl:Restriction ; owl:onProperty ex:d ; owl:someValuesFrom [ a rdfs:Datatype ; owl:onDatatype xsd:string ; owl:withRestrictions ( [ xsd:pattern "a.*" ] ) ] ] .',
    "complexSuperclass": "ex:Sub a owl:Class ; rdfs:subClassOf [ a owl:Restriction ; owl:onProperty ex:p ; owl:someValuesFrom ex:A ] .",
}

EXPECTED_CLASS = {"complementOf": "NotA", "allValuesFrom": "OnlyA", "cardinality": "TwoP", "qualifiedCardinality": "OneA",
                  "oneOf": "Enum", "patternFacet": "Pat", "complexSuperclass": "Sub"}


def _graph(body: str) -> Graph:
    return Graph().parse(data=PREFIXES + body, format="turtle")


@pytest.mark.parametrize("case", sorted(CASES))
def test_refused_at_load_naming_the_class(case):
    with pytest.raises(UnsupportedConstruct) as err:
        read_axioms(_graph(CASES[case]))
    message = str(err.value)
    assert EXPECTED_CLASS[case] in message, message
    assert "supported" in message  # the error says what is supported instead


@pytest.mark.parametrize("case", ["complementOf", "allValuesFrom", "cardinality"])
def test_fast_reasoner_refuses_on_first_use(case):
    reasoner = FastReasoner(tbox=_graph(CASES[case]))
    with pytest.raises(UnsupportedConstruct, match=EXPECTED_CLASS[case]):
        reasoner.realize([])  # loading happens lazily but before any answer is given
        _ = reasoner.evaluator


def test_supported_fragment_loads():
    body = ("ex:C a owl:Class ; owl:equivalentClass [ a owl:Class ; owl:intersectionOf ( ex:A "
            "[ a owl:Restriction ; owl:onProperty ex:d ; owl:someValuesFrom [ a rdfs:Datatype ; owl:onDatatype xsd:integer ; "
            "owl:withRestrictions ( [ xsd:minInclusive 3 ] ) ] ] ) ] .")
    axioms = read_axioms(_graph(body))
    assert "https://example.org/t#C" in axioms.definitions
