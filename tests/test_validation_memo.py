"""The SPARQL checks' memo (guidekg.fastvalidate_sparql): equal projections, equal findings; nothing else shared.

Each check answers a patient from a memo keyed by the patient's values on the predicates the
check reads (narrowed to the values that can matter). A key missing one value would hand a
patient another patient's findings; a finding text quoting the focus would leak a patient
id; an unbounded memo would grow over a million patients; a memoised answer must still hand
an ambiguous spelling to pySHACL. Each case below pins one of these, against pySHACL's
findings or texts written out here.
"""

from __future__ import annotations

import copy
from dataclasses import replace

import pytest
from rdflib import RDF, XSD, Graph, Literal, URIRef

from guidekg import fastvalidate, fastvalidate_sparql, oxstore, resources
from guidekg.fastvalidate import compile_validator, validate_fast
from guidekg.ingest.casesheet import read_csv
from guidekg.namespaces import GK
from guidekg.synthetic import write_cohort
from guidekg.validate import validate_records

TRIPLET = "FOLFOXIRI (https://w3id.org/guidekg/ontology#FOLFOXIRI) is planned or given but the patient is not shown"
ANTI_EGFR = "An anti-EGFR antibody (https://w3id.org/guidekg/ontology#Bevacizumab) is planned or given"


def _texts(found: dict, record) -> list[str]:
    return sorted(f.message for f in found[record.iri])


def _forget():
    """A cold memo, as in a new worker process."""
    compile_validator().__dict__.pop("_memo", None)


@pytest.fixture(scope="module")
def base(tmp_path_factory):
    return list(read_csv(write_cohort(tmp_path_factory.mktemp("memo") / "c.csv", 12, seed=7)))[0]


def _patient(base, name: str, **facts):
    record = replace(base, patient_id=name, iri=f"https://w3id.org/guidekg/patient/{name}",
                     facts=copy.deepcopy(base.facts), findings=[])
    for prop, values in facts.items():
        record.facts[str(GK[prop])] = values
        if not values:
            del record.facts[str(GK[prop])]
    return record


def _triplet(base, name: str, age: int):
    return _patient(base, name, plannedAction=[GK.FOLFOXIRI], age=[Literal(str(age), datatype=XSD.integer)],
                    ecog=[Literal("2", datatype=XSD.integer)])


def test_one_value_a_check_reads_tells_two_patients_apart_in_one_call_and_across_calls(base):
    eligible, too_old = _triplet(base, "MEMO-70", 70), _triplet(base, "MEMO-71", 71)  # TRIBE: 70 or under at ECOG 2
    reference = validate_records([eligible, too_old])
    assert not any(t.startswith(TRIPLET) for t in _texts(reference, eligible))
    assert any(t.startswith(TRIPLET) for t in _texts(reference, too_old))
    _forget()
    together = validate_fast([eligible, too_old])  # one chunk: the first patient's answer must not serve the second
    assert {r.iri: _texts(together, r) for r in (eligible, too_old)} == {r.iri: _texts(reference, r) for r in (eligible, too_old)}
    for first, second in ((eligible, too_old), (too_old, eligible)):  # consecutive chunks, both orders
        _forget()
        assert _texts(validate_fast([first]), first) == _texts(reference, first)
        assert _texts(validate_fast([second]), second) == _texts(reference, second)


def test_a_finding_without_a_value_quotes_each_patients_own_id(base):
    """Checks without ?value quote the focus node: the memo keeps the focus open."""
    facts = {"treatmentPhase": [GK.OnFirstLineChemotherapy], "monthsOnChemotherapy": [],
             "monthsSinceResectabilityAssessment": []}
    first, second = _patient(base, "MEMO-QUOTE-1", **facts), _patient(base, "MEMO-QUOTE-2", **facts)
    _forget()
    one, two = validate_fast([first])[first.iri], validate_fast([second])[second.iri]
    reference = validate_records([first, second])
    assert sorted(f.message for f in one) == _texts(reference, first)
    assert sorted(f.message for f in two) == _texts(reference, second)
    assert any("MEMO-QUOTE-1" in f.message for f in one) and not any("MEMO-QUOTE-1" in f.message for f in two)
    assert any("MEMO-QUOTE-2" in f.message for f in two)


SHAPES = """
@prefix gk: <https://w3id.org/guidekg/ontology#> .
@prefix sh: <http://www.w3.org/ns/shacl#> .
@prefix xsd: <http://www.w3.org/2001/XMLSchema#> .
<urn:test:shapes> sh:declare [ sh:prefix "gk" ; sh:namespace "https://w3id.org/guidekg/ontology#"^^xsd:anyURI ] .
<urn:test:Shape> a sh:NodeShape ; sh:targetClass gk:Patient ; sh:severity sh:Warning ;
    sh:message "Patient {$this} plans {?value}." ;
    sh:sparql [ a sh:SPARQLConstraint ; sh:prefixes <urn:test:shapes> ; sh:select \"\"\"
        SELECT $this ?value WHERE { $this gk:plannedAction ?value . FILTER (?value = gk:LiverBiopsy) }\"\"\" ] .
"""


def test_a_message_naming_this_is_written_for_each_patient(base):
    shapes = Graph().parse(data=SHAPES, format="turtle")
    compiled = fastvalidate._compile(shapes, resources.shared_graph("ontology", *resources.LOGIC_MODULES))
    [check] = compiled.sparql
    assert check.key_predicates is not None and check.quotes_focus  # memoised, and its text names the focus
    patients = [_patient(base, f"MEMO-THIS-{i}", plannedAction=[GK.LiverBiopsy]) for i in (1, 2, 3)]
    found = {}
    for chunk in (patients[:2], patients[2:]):
        found.update(compiled.validate(chunk))
    for record in patients:
        assert [f.message for f in found[record.iri]] == [
            f"Patient https://w3id.org/guidekg/patient/{record.patient_id} plans https://w3id.org/guidekg/ontology#LiverBiopsy."]


def test_the_memo_stays_bounded_and_eviction_changes_no_finding(tmp_path, monkeypatch):
    from guidekg.sparql_footprint import Footprint

    monkeypatch.setattr(fastvalidate_sparql, "MEMO_LIMIT", 3)
    monkeypatch.setattr(fastvalidate_sparql, "VALUE_KEYS_LIMIT", 40)
    records = list(read_csv(write_cohort(tmp_path / "c.csv", 300, seed=5)))
    compiled = compile_validator()
    unmemoised = fastvalidate.CompiledValidator(  # reads anything: never memoised, every candidate queried
        properties=compiled.properties, known=compiled.known,
        sparql=[fastvalidate._SparqlCheck(c.shape, c.constraint, c.severity, c.message, c.query, Footprint(None, ()))
                for c in compiled.sparql])
    _forget()
    found = {}
    for start in range(0, len(records), 30):
        found.update(compiled.validate(records[start:start + 30]))
        assert all(len(memo) <= 3 for memo in compiled.__dict__["_memo"][1])
        assert len(fastvalidate_sparql._VALUE_KEYS) <= 40
    reference = unmemoised.validate(records)
    assert sum(len(v) for v in reference.values()) > 100
    assert {k: sorted(map(str, v)) for k, v in found.items()} == {k: sorted(map(str, v)) for k, v in reference.items()}


def test_an_ambiguous_spelling_goes_to_pyshacl_also_when_the_memo_answers(base):
    """"6" and "6.0" months read by the check that quotes the months: pySHACL must say which was bound."""
    twice = [Literal("6", datatype=XSD.decimal), Literal("6.0", datatype=XSD.decimal)]
    facts = {"treatmentPhase": [GK.OnFirstLineChemotherapy], "monthsOnChemotherapy": twice,
             "monthsSinceResectabilityAssessment": []}
    first, second, later = (_patient(base, f"MEMO-SPELT-{i}", **facts) for i in (1, 2, 3))
    _forget()
    compiled = compile_validator()
    assert compiled._run_sparql([first, second], {first.iri: [], second.iri: []}) == {first.iri, second.iri}
    assert compiled._run_sparql([later], {later.iri: []}) == {later.iri}  # answered by the memo: still pySHACL's
    reference = validate_records([later])
    assert _texts(validate_fast([later]), later) == _texts(reference, later)


def test_an_ontology_swapped_in_process_is_not_answered_with_the_compiled_narrowing(base, monkeypatch):
    """The narrowed values (the anti-EGFR drugs) come from the ontology the checks were compiled
    with; content swapped in process (guidekg mutate) must be read as it is now."""
    patient = _patient(base, "MEMO-SWAP", plannedAction=[GK.Bevacizumab])
    _forget()
    assert not any(t.startswith(ANTI_EGFR) for t in _texts(validate_fast([patient]), patient))
    predicates = compile_validator()._sparql_predicates
    original = oxstore._ontology_ntriples(predicates)
    extra = f"<{GK.Bevacizumab}> <{RDF.type}> <{GK.AntiEGFRTherapy}> .\n".encode()
    monkeypatch.setattr(oxstore, "_ontology_ntriples", lambda p: original + extra)
    assert any(t.startswith(ANTI_EGFR) for t in _texts(validate_fast([patient]), patient))


def test_blank_nodes_and_the_patients_own_iri_are_never_shared_keys(base):
    """A value equal to the patient's own IRI is keyed as "the focus"; a blank node per patient."""
    from rdflib import BNode

    compiled = compile_validator()
    predicates = compiled._sparql_predicates
    first, second = _patient(base, "MEMO-SELF-1"), _patient(base, "MEMO-SELF-2")
    first.facts[str(GK.plannedAction)] = [URIRef(first.iri)]
    second.facts[str(GK.plannedAction)] = [URIRef(first.iri)]  # the same IRI, but not its own
    blank = BNode("b0")
    first.facts[str(GK.currentRegimen)] = second.facts[str(GK.currentRegimen)] = [blank]
    indexed, present, _ = fastvalidate_sparql._plan(compiled, True)
    (one, two), _ = fastvalidate_sparql._projections([first, second], predicates, indexed, present)
    planned, regimen = str(GK.plannedAction), str(GK.currentRegimen)
    assert one[planned] != two[planned]
    assert one[regimen] != two[regimen]


def test_core_findings_are_remembered_per_term_bounded_and_follow_a_changed_record(base, monkeypatch):
    """The Core checks remember what they say of each term object: a record whose value is
    replaced is checked as it is now, and a small memo (evicting often) changes nothing."""
    record = _patient(base, "MEMO-CORE")
    compiled = compile_validator()
    states = []
    for ecog in ("7", "2", "7"):  # out of range (0-4), in range, out of range again (a new term)
        record.facts[str(GK.ecog)] = [Literal(ecog, datatype=XSD.integer)]
        states.append((_texts(validate_fast([record]), record), _texts(validate_records([record]), record)))
    assert [mine for mine, _ in states] == [reference for _, reference in states]
    assert states[0][0] != states[1][0]

    records = [_patient(base, f"MEMO-CORE-{i}", age=[Literal(str(20 + i), datatype=XSD.integer)],
                        ecog=[Literal(str(i % 7), datatype=XSD.integer)]) for i in range(60)]
    expected = {k: sorted(map(str, v)) for k, v in replace(compiled).validate(records).items()}  # a fresh memo
    monkeypatch.setattr(fastvalidate, "CORE_MEMO_LIMIT", 4)
    small = replace(compiled)
    found = {}
    for start in range(0, len(records), 7):
        found.update(small.validate(records[start:start + 7]))
        assert all(len(memo) <= 4 for memo in small.__dict__["_core_memo"])
    assert {k: sorted(map(str, v)) for k, v in found.items()} == expected
    assert any(v for v in expected.values())


def test_two_records_of_one_patient_in_a_call_are_validated_as_one_node_like_pyshacl(base):
    """Records sharing an IRI are one node in pySHACL's graph (their facts merged); the compiled
    checks, one projection per record, would judge them apart: such records go to pySHACL."""
    first = _triplet(base, "MEMO-TWICE", 70)
    second = _patient(base, "MEMO-TWICE", ecog=[Literal("3", datatype=XSD.integer)])
    _forget()
    found, reference = validate_fast([first, second]), validate_records([first, second])
    assert _texts(found, first) == _texts(reference, first)
    assert any("at ECOG 3" in t for t in _texts(reference, first))  # FOLFOXIRI of one record, ECOG 3 of the other


def test_a_cohort_in_chunks_through_a_warm_memo_equals_querying_every_patient(tmp_path):
    """The whole population path: 2,000 patients in chunks of 100 (most answered by the memo)
    give the findings of checks that query every patient (no footprint, no memo), which
    tests/test_batch.py proves equal to pySHACL's."""
    from guidekg.sparql_footprint import Footprint

    records = list(read_csv(write_cohort(tmp_path / "c.csv", 2000, seed=23)))
    compiled = compile_validator()
    unmemoised = fastvalidate.CompiledValidator(
        properties=compiled.properties, known=compiled.known,
        sparql=[fastvalidate._SparqlCheck(c.shape, c.constraint, c.severity, c.message, c.query, Footprint(None, ()))
                for c in compiled.sparql])
    _forget()
    found = {}
    for start in range(0, len(records), 100):
        found.update(compiled.validate(records[start:start + 100]))
    reference = unmemoised.validate(records)
    assert sum(len(v) for v in reference.values()) > 500
    assert {k: sorted(map(str, v)) for k, v in found.items()} == {k: sorted(map(str, v)) for k, v in reference.items()}
