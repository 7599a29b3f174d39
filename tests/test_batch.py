"""The streaming batch path: same answers as the one-shot pipeline, every patient once, in order."""

from __future__ import annotations

import io
import json
import random

import pytest
from rdflib import XSD, Literal

from guidekg.batch import _records, chunks, render_line, run_batch
from guidekg.export.json import render_ndjson_line
from guidekg.fastvalidate import compile_validator, validate_fast
from guidekg.ingest import read_patients
from guidekg.ingest.casesheet import read_csv
from guidekg.recommend import assess
from guidekg.synthetic import synthetic_row, write_cohort
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


def test_compiled_validator_equals_pyshacl_on_examples(tmp_path):
    from conftest import ROOT

    records = list(read_patients([ROOT / EXAMPLES_CSV]))
    assert _compare_validation(records) > 0


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
    expected = [row["patient_id"] for row in (synthetic_row(random.Random(1), i) for i in range(0))]
    assert not expected
    invalid = [line for line in lines if line["status"] == "invalid"]
    assert invalid, "the malformed rows must be reported"
    sources = [v["source"] for line in invalid for v in line["validation"]]
    assert any(s.endswith(f":{bad + 2}") for s in sources), sources  # header is line 1, row i is line i + 2
    assert ids[0] == "SYN00000000" and ids[-1] == f"SYN{count - 1:08d}"
    numbers = [int(i[3:]) for i in ids if i.startswith("SYN0")]
    assert numbers == sorted(numbers), "output is in input order"
    assert summary.ok + summary.invalid + summary.contradictory == len(lines)
    assert summary.contradictory > 0
