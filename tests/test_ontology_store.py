"""The ontology store a single patient's checks borrow (guidekg.oxstore.ontology_store).

One patient's assessment (CLI, /recommend, CDS Hooks) spent over half its time loading the
ontology into a fresh pyoxigraph store; a call of a few patients now borrows its thread's
store. These tests pin what makes that safe: a call's patients are gone from the store when
it ends (also when it fails), answers equal those of a fresh store whatever the order, and
the store is replaced before the quads pyoxigraph keeps after removal add up.
"""

from __future__ import annotations

import random
from pathlib import Path

import pytest

from guidekg import oxstore
from guidekg.fastvalidate import compile_validator, validate_fast
from guidekg.ingest import read_patients

ROOT = Path(__file__).resolve().parents[1]


def _findings(found: dict) -> dict:
    return {iri: sorted((f.path or "", f.message, f.severity, f.alert or "") for f in items) for iri, items in found.items()}


def test_one_at_a_time_through_the_borrowed_store_equals_a_fresh_store():
    records = list(read_patients([ROOT / "examples" / "patients.csv"]))
    fresh = _findings(validate_fast(records))  # 24 patients: more than REUSE_UP_TO, a fresh store
    assert len(records) > oxstore.REUSE_UP_TO
    order = records * 3
    random.Random(7).shuffle(order)
    for record in order:  # every example after every other: a left-over patient would show
        assert _findings(validate_fast([record])) == {record.iri: fresh[record.iri]}, record.patient_id


def _borrowed(predicates):
    return oxstore._BORROWED.entry[1]


def test_a_call_leaves_no_patient_in_the_store_even_when_it_fails():
    predicates = compile_validator()._sparql_predicates
    subject = oxstore.named("urn:test:patient")
    quad = oxstore.ox.Quad(subject, subject, subject, oxstore.CHUNK_GRAPH)
    with oxstore.ontology_store(predicates, patients=1) as store:
        before = len(store)
        store.add(quad)
    assert _borrowed(predicates) is store and len(store) == before
    with pytest.raises(RuntimeError):
        with oxstore.ontology_store(predicates, patients=1) as again:
            again.add(quad)
            raise RuntimeError("a check failed")
    assert again is store and len(store) == before and quad not in store


def test_a_big_call_gets_a_fresh_store_and_the_borrowed_one_is_replaced_in_time(monkeypatch):
    predicates = compile_validator()._sparql_predicates
    with oxstore.ontology_store(predicates, patients=1) as first:
        pass
    with oxstore.ontology_store(predicates, patients=oxstore.REUSE_UP_TO + 1) as big:
        assert big is not first
    monkeypatch.setattr(oxstore, "REBUILD_AFTER", 3)
    seen = []
    for _ in range(5):
        with oxstore.ontology_store(predicates, patients=1) as store:
            seen.append(store)
    assert len({id(s) for s in seen}) >= 2  # replaced after REBUILD_AFTER patients
    assert all(len(s) == len(seen[0]) for s in seen)  # each holds the ontology only


def test_a_patient_record_updated_between_calls_is_checked_as_it_is_now():
    """CDS Hooks and /recommend see the same patient again with new facts: the findings of the
    earlier call's facts (a planned cetuximab) must not survive into the next one."""
    from dataclasses import replace

    from guidekg.namespaces import GK

    [record] = [r for r in read_patients([ROOT / "examples" / "patients.csv"]) if r.patient_id == "EX08-molecular-missing"]
    planned = str(GK.plannedAction)
    assert any("anti-EGFR" in f.message for f in validate_fast([record])[record.iri])
    facts = {k: list(v) for k, v in record.facts.items()}
    facts[planned] = [GK.Bevacizumab]  # still a planned action, so the anti-EGFR check runs
    changed = replace(record, facts=facts)
    assert not any("anti-EGFR" in f.message for f in validate_fast([changed])[record.iri])


def test_a_store_holding_other_ontology_content_is_never_borrowed(monkeypatch):
    """guidekg mutate and the review swap the content in process: the next call must not get a
    store loaded with the ontology as it was."""
    predicates = compile_validator()._sparql_predicates
    with oxstore.ontology_store(predicates, patients=1) as before:
        size = len(before)
    original = oxstore._ontology_ntriples(predicates)
    extra = b"<urn:x:A> <http://www.w3.org/2000/01/rdf-schema#subClassOf> <urn:x:B> .\n"
    monkeypatch.setattr(oxstore, "_ontology_ntriples", lambda p: original + extra)
    with oxstore.ontology_store(predicates, patients=1) as after:
        assert after is not before and len(after) == size + 1
