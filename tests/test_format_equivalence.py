"""The example patients give identical results as CSV, Turtle, FHIR Bundles and FHIR Bulk NDJSON."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from guidekg.ingest import read_patients
from guidekg.recommend import assess
from guidekg.tools.make_fhir_examples import write_examples

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ROOT / "examples"
FORMS = {"csv": [EXAMPLES / "patients.csv"], "turtle": [EXAMPLES / "patients.ttl"],
         "fhir-bundles": [EXAMPLES / "fhir"], "fhir-bulk": [EXAMPLES / "fhir" / "bulk"]}


def _summary(inputs, reasoner):
    return [(r.record.patient_id, r.status, r.treatment_classes, [x["id"] for x in r.recommendations],
             [a["id"] for a in r.alerts]) for r in assess(list(read_patients(inputs)), reasoner=reasoner)]


@pytest.fixture(scope="module")
def csv_results(fast):
    return _summary(FORMS["csv"], fast)


@pytest.mark.parametrize("form", ["turtle", "fhir-bundles", "fhir-bulk"])
def test_every_form_gives_the_csv_results(form, csv_results, fast):
    other = _summary(FORMS[form], fast)
    assert [r[0] for r in other] == [r[0] for r in csv_results]
    for mine, theirs in zip(other, csv_results, strict=True):
        assert mine == theirs, mine[0]


def test_fhir_examples_are_generated_from_the_csv(tmp_path):
    write_examples(EXAMPLES / "patients.csv", tmp_path)
    committed = sorted(p.relative_to(EXAMPLES / "fhir") for p in (EXAMPLES / "fhir").rglob("*") if p.is_file())
    fresh = sorted(p.relative_to(tmp_path) for p in tmp_path.rglob("*") if p.is_file())
    assert committed == fresh, "run: python -m guidekg.tools.make_fhir_examples"
    for rel in fresh:
        text = (tmp_path / rel).read_text(encoding="utf-8")
        mine = [json.loads(line) for line in text.splitlines()] if rel.suffix == ".ndjson" else json.loads(text)
        old = (EXAMPLES / "fhir" / rel).read_text(encoding="utf-8")
        theirs = [json.loads(line) for line in old.splitlines()] if rel.suffix == ".ndjson" else json.loads(old)
        assert mine == theirs, f"{rel} is stale: run python -m guidekg.tools.make_fhir_examples"
