"""The streaming batch path: same answers as the one-shot pipeline, every patient once, in order."""

from __future__ import annotations

import io
import json

import pytest
from rdflib import XSD, Literal

from guidekg.batch import _records, chunks, render_line, run_batch
from guidekg.export.json import render_ndjson_line
from guidekg.fastvalidate import compile_validator, validate_fast
from guidekg.ingest import read_patients
from guidekg.ingest.casesheet import read_csv
from guidekg.recommend import assess
from guidekg.synthetic import write_cohort
from guidekg.validate import validate_records

EXAMPLES_CSV = "examples/patients.csv"


def _key(findings):
    return sorted((f.message, f.severity, f.path, f.alert) for f in findings)


def _compare_validation(records):
    reference, fast = validate_records(records), validate_fast(records)
    bad = [(r.patient_id, _key(reference[r.iri]), _key(fast[r.iri])) for r in records if _key(reference[r.iri]) != _key(fast[r.iri])]
    assert not bad, f"{len(bad)} patients differ; first: {bad[:2]}"
    return sum(len(v) for v in reference.values())


def test_shapes_compile():
    compiled = compile_validator()
    assert compiled is not None, "a shape uses SHACL outside the compiled subset: the batch path would fall back to pySHACL"
    assert compiled.properties and compiled.sparql


@pytest.mark.slow
def test_compiled_validator_equals_pyshacl_on_examples(tmp_path):
    from conftest import ROOT

    records = list(read_patients([ROOT / EXAMPLES_CSV]))
    assert _compare_validation(records) > 0


@pytest.mark.slow
def test_compiled_validator_equals_pyshacl_on_random_patients(tmp_path):
    # pySHACL (the reference) needs ~0.4 s a patient on these shapes, so the sample stays small
    path = write_cohort(tmp_path / "cohort.csv", 250, seed=7)
    records = list(read_csv(path))
    findings = _compare_validation(records)
    assert findings > 100  # the cohort exercises the shapes


def test_odd_values_fall_back_to_pyshacl(tmp_path):
    records = list(read_csv(write_cohort(tmp_path / "c.csv", 20, seed=3)))
    from guidekg.namespaces import GK

    records[0].facts[str(GK.age)] = [Literal("71.5", datatype=XSD.decimal)]  # wrong datatype
    records[1].facts[str(GK.ecog)] = [Literal("one")]  # plain string
    records[2].facts[str(GK.primarySite)] = [Literal("rectum")]  # literal where an individual is expected
    records[3].facts[str(GK.ecog)] = [Literal(7, datatype=XSD.integer), Literal(2, datatype=XSD.integer)]
    _compare_validation(records)


def test_batch_equals_pipeline_on_examples(tmp_path):
    from conftest import ROOT

    out = io.StringIO()
    summary = run_batch([ROOT / EXAMPLES_CSV], out, chunk_size=5)
    lines = [json.loads(line) for line in out.getvalue().splitlines()]
    results = assess(list(read_patients([ROOT / EXAMPLES_CSV])))
    assert lines == [r.as_json() for r in results]
    assert summary.total == len(results)


def test_render_line_equals_reference_renderer(tmp_path):
    records = list(read_csv(write_cohort(tmp_path / "c.csv", 200, seed=5)))
    for result in assess(records, validator=validate_fast):
        assert render_line(result) == render_ndjson_line(result)


def test_cached_row_parser_equals_case_sheet_reader(tmp_path):
    path = write_cohort(tmp_path / "c.csv", 500, seed=11, bad_lines={100: "X1,2026-13-45,abc,alien"})
    mine = [r for chunk in chunks([path], 64) for r in _records(chunk)]
    theirs = list(read_csv(path))
    assert [(r.iri, r.facts, r.findings) for r in mine] == [(r.iri, r.facts, r.findings) for r in theirs]


@pytest.mark.slow
@pytest.mark.parametrize("workers", [1, 2])
def test_bad_row_in_the_middle_of_a_big_file(tmp_path, workers):
    count, bad = 3000, 1733
    path = write_cohort(tmp_path / "big.csv", count, seed=1,
                        bad_lines={bad: 'SYNBAD,2026-11-01,"unterminated', bad + 1: "SYNBAD2,not-a-date,abc,male"})
    out = io.StringIO()
    summary = run_batch([path], out, workers=workers, chunk_size=500)
    lines = [json.loads(line) for line in out.getvalue().splitlines()]
    assert summary.total == len(lines)
    ids = [line["patient"] for line in lines]
    invalid = [line for line in lines if line["status"] == "invalid"]
    assert invalid, "the malformed rows must be reported"
    sources = [v["source"] for line in invalid for v in line["validation"]]
    assert any(s.endswith(f":{bad + 2}") for s in sources), sources  # header is line 1, row i is line i + 2
    assert ids[0] == "SYN00000000" and ids[-1] == f"SYN{count - 1:08d}"
    numbers = [int(i[3:]) for i in ids if i.startswith("SYN0")]
    assert numbers == [i for i in range(count) if i not in (bad, bad + 1)], "every good row, in input order"
    assert len(invalid) == 2
    assert summary.ok + summary.invalid + summary.contradictory == len(lines)
    assert summary.contradictory > 0


def test_each_chunk_is_validated_in_a_fresh_store():
    """Regression: one long-lived pyoxigraph store kept every removed quad, so memory grew
    ~8 KB a patient for the whole run. Each chunk now gets a store holding the ontology only."""
    import pyoxigraph as ox

    from guidekg.oxstore import ontology_store

    chunk = 2000  # patients in a batch chunk: far above what may borrow a reused store
    with ontology_store(patients=chunk) as first:
        size = len(first)
        first.add(ox.Quad(ox.NamedNode("urn:x:p"), ox.NamedNode("urn:x:q"), ox.Literal("v"), ox.NamedNode("urn:x:g")))
    with ontology_store(patients=chunk) as second:
        assert second is not first and len(second) == size > 1000


def test_validation_with_footprints_equals_loading_everything(tmp_path):
    """Loading only the patients and predicates each check can read changes no finding."""
    from guidekg import fastvalidate
    from guidekg.sparql_footprint import Footprint

    records = list(read_csv(write_cohort(tmp_path / "c.csv", 1500, seed=11)))
    compiled = compile_validator()
    wide = fastvalidate.CompiledValidator(
        properties=compiled.properties, known=compiled.known,
        sparql=[fastvalidate._SparqlCheck(c.shape, c.constraint, c.severity, c.message, c.query, Footprint(None, ()))
                for c in compiled.sparql])
    narrow, everything = compiled.validate(records), wide.validate(records)
    assert sum(len(v) for v in narrow.values()) > 300
    assert {k: _key(v) for k, v in narrow.items()} == {k: _key(v) for k, v in everything.items()}


def test_one_value_spelt_two_ways_is_quoted_as_written(tmp_path):
    """Regression: pyoxigraph returns canonical literals ("6" for "6.0"), and findings quote the
    patient's own spelling, as pySHACL does. Mapping values back used to mix up two
    properties with one value (months on chemotherapy "6" was quoted as "6.0", taken from
    months since short-course RT). Only the predicates a check reads are mapped now, and a
    record whose findings bind a value spelt two ways among those goes to pySHACL, which knows
    which one was bound. Two spellings that no finding binds stay on the fast path."""
    import copy

    from guidekg.namespaces import GK

    records = list(read_csv(write_cohort(tmp_path / "c.csv", 400, seed=11)))
    target = next(r for r in records if str(GK.monthsOnChemotherapy) in r.facts
                  and GK.OnFirstLineChemotherapy in r.facts.get(str(GK.treatmentPhase), []))
    target.facts[str(GK.monthsOnChemotherapy)] = [Literal("6", datatype=XSD.decimal)]
    target.facts[str(GK.monthsSinceShortCourseRT)] = [Literal("6.0", datatype=XSD.decimal)]
    target.facts.pop(str(GK.monthsSinceResectabilityAssessment), None)
    assert not compile_validator()._run_sparql([target], {target.iri: []})  # RT months: read by no check
    _compare_validation([target])
    assert any("for 6 months" in f.message for f in validate_fast([target])[target.iri])

    both_read = copy.deepcopy(target)  # both months read, same value: no finding binds it here
    both_read.facts[str(GK.monthsSinceResectabilityAssessment)] = [Literal("6.0", datatype=XSD.decimal)]
    assert not compile_validator()._run_sparql([both_read], {both_read.iri: []})
    _compare_validation([both_read])

    bound_twice = copy.deepcopy(target)  # a finding binds a value the patient spells two ways
    bound_twice.facts[str(GK.monthsOnChemotherapy)] = [Literal("6", datatype=XSD.decimal),
                                                       Literal("6.0", datatype=XSD.decimal)]
    assert compile_validator()._run_sparql([bound_twice], {bound_twice.iri: []}) == {bound_twice.iri}
    _compare_validation([bound_twice])


def test_duplicate_index_finds_every_repeat_across_growth_and_names_the_first_place():
    """The id index is a packed hash table that grows; a repeat must be found wherever it falls."""
    from guidekg.batch import _Duplicates
    from guidekg.model import SourceRef

    seen = _Duplicates()
    for line in range(1, 5001):
        assert seen.check(f"urn:p:{line}", SourceRef("a.csv", line)) is None
    assert seen.check("urn:fhir", SourceRef("b.json", None, "Patient/7")) is None
    assert seen.check("urn:nd", SourceRef("c.ndjson")) is None
    assert seen.check("urn:p:1", SourceRef("b.csv", 3)) == "a.csv:1"
    assert seen.check("urn:p:4999", SourceRef("b.csv", 4)) == "a.csv:4999"
    assert seen.check("urn:fhir", SourceRef("b.json", None, "Patient/8")) == "b.json (Patient/7)"
    assert seen.check("urn:nd", SourceRef("d.ndjson", 2)) == "c.ndjson"
    assert seen.check("urn:p:5001", SourceRef("b.csv", 5)) is None


def test_batch_run_collects_garbage_rarely_and_restores_the_collector(tmp_path):
    """The cyclic collector ran every 700 allocations during a run, ~12-17 % of the CPU time
    (short-lived objects are freed by reference counting anyway). A run now uses
    GC_THRESHOLD, in every chunk it processes, and gives the caller its own thresholds back."""
    import gc

    from guidekg.batch import GC_THRESHOLD, _process_chunk_encoded

    seen = []

    def mapper(work, func, args):
        for chunk in work:
            seen.append(gc.get_threshold())
            yield _process_chunk_encoded(chunk, *args)

    before = gc.get_threshold()
    assert before != GC_THRESHOLD
    run_batch([write_cohort(tmp_path / "c.csv", 30, seed=5)], io.StringIO(), mapper=mapper, chunk_size=10)
    assert seen == [GC_THRESHOLD] * 3
    assert gc.get_threshold() == before


def test_a_run_still_collects_reference_cycles(tmp_path):
    """GC_THRESHOLD makes collections rare, not absent: cyclic garbage made during a run (as
    pySHACL's graphs make for a record it validates) is still collected, so memory stays bounded."""
    import gc

    from guidekg.batch import GC_THRESHOLD, few_collections

    class Node:
        def __init__(self) -> None:
            self.me = self

    with few_collections():
        before = gc.get_stats()[0]["collected"]
        for _ in range(GC_THRESHOLD[0] + 10_000):  # net container allocations past the threshold
            Node()
        assert gc.get_stats()[0]["collected"] > before
