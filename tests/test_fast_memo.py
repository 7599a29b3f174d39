"""The population path's memos give exactly the answers computed fresh.

Each memo is keyed on an exact abstraction of what the memoised code reads; these tests draw
a few thousand synthetic patients and compare memoised answers with the same code run with
the memo disabled (a dict that never keeps anything), patient for patient.
"""

from __future__ import annotations

import pytest

from guidekg import shape_sparql
from guidekg.fastvalidate import compile_validator
from guidekg.ingest.casesheet import read_csv
from guidekg.synthetic import write_cohort


class _Forgetful(dict):
    """A memo that never remembers: every lookup misses, so every answer is computed fresh."""

    def __setitem__(self, key, value) -> None:
        return None


def _key(findings):
    return [(f.message, f.severity, f.path, f.alert, f.source) for f in findings]


@pytest.fixture(scope="module")
def drawn(tmp_path_factory):
    path = write_cohort(tmp_path_factory.mktemp("memo") / "c.csv", 3000, seed=23)
    return list(read_csv(path))


def test_memoised_shape_queries_equal_fresh_ones(drawn, monkeypatch):
    compiled = compile_validator()
    memo: dict = {}
    monkeypatch.setattr(shape_sparql, "_ROWS", memo)
    memoised = {}
    for start in range(0, len(drawn), 500):  # chunks: later ones are answered mostly from the memo
        memoised.update(compiled.validate(drawn[start:start + 500]))
    assert len(memo) < len(drawn) * len(compiled.sparql) / 4, "the memo is expected to be reused"
    monkeypatch.setattr(shape_sparql, "_ROWS", _Forgetful())
    fresh = {}
    for start in range(0, len(drawn), 500):
        fresh.update(compiled.validate(drawn[start:start + 500]))
    assert sum(len(v) for v in fresh.values()) > 500
    differ = [r.patient_id for r in drawn if _key(memoised[r.iri]) != _key(fresh[r.iri])]
    assert not differ, f"{len(differ)} patients differ, first {differ[:3]}"


def test_a_memoised_finding_names_its_own_patient(drawn, monkeypatch):
    """Rows are memoised with the patient's IRI abstracted: a finding quoting the focus node
    must quote the patient at hand, not the one first computed."""
    compiled = compile_validator()
    monkeypatch.setattr(shape_sparql, "_ROWS", {})
    first = compiled.validate(drawn[:1500])
    again = compiled.validate(drawn[1500:])
    quoting = [(r, f) for part in (first, again) for r in drawn if r.iri in part for f in part[r.iri]
               if "SYN" in f.message]
    assert len(quoting) > 100, "the cohort must exercise findings that quote the focus node"
    for record, finding in quoting:
        assert record.patient_id in finding.message
