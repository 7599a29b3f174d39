"""The expectation corpus: what the hand-reviewed data files say each case must get.

Files (``tests/data/expected/`` of a checkout):

* ``examples.json``: ``{patient: {status, treatment_classes: [...], alerts: {id: severity}, ...}}``
  for ``examples/patients.csv``; ``examples-plan.json`` (``{patient: [{action, from, verdict, rule}, ...]}``,
  keys starting with ``_`` are comments) is merged in as each patient's ``plan`` when present.
* ``conformance.json``: ``{"base": facts, "cases": {id: {"facts": overrides, "classes": [...]}}}``,
  the exact set of decision (treatment and alert) classes of small constructed patients, or
  ``"consistent": false``.
* ``safety.json``: ``{"base": facts, "cases": {id: {"facts": overrides, "alerts": {id: severity}}}}``,
  one case per clause of each safety shape.
  ``shacl_alerts`` (same form) compares the shapes' own alert findings whatever the status, so a
  contradictory or invalid record still pins each clause of a safety shape.
* ``data-errors.json``: the same shape, one bad record per constraint of each data shape (``"status": "invalid"``).

Comparison is exact for every key an entry has, and only those keys: a file that does not
know about a field (a plan verdict) does not fail because the output has it.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rdflib import XSD, Literal, URIRef

from ..ingest.defaults import apply_defaults
from ..model import PatientRecord, SourceRef
from ..namespaces import GK, curie, patient_iri

EXPECTED_DIR = Path(__file__).resolve().parents[3] / "tests" / "data" / "expected"
PLAN_FIELDS = ("action", "from", "verdict", "rule")
COMPARED = ("status", "treatment_classes", "alerts", "plan", "classes", "consistent", "shacl_alerts")


@dataclass
class Case:
    """One record and what it must get (``expect`` holds only the keys to compare)."""

    name: str
    record: PatientRecord
    expect: dict[str, Any]
    source: str
    disputed: dict[str, Any] = field(default_factory=dict)


def fact_term(item: Any) -> Any:
    """One fact value as an RDF term: str = gk individual, ``date:``/``str:`` prefixed = xsd:date/xsd:string,
    bool/int/float = literal, an rdflib Literal as given."""
    if isinstance(item, Literal):
        return item
    if isinstance(item, bool):
        return Literal(item)
    if isinstance(item, int):
        return Literal(item, datatype=XSD.integer)
    if isinstance(item, float):
        return Literal(str(item), datatype=XSD.decimal)
    if isinstance(item, str) and item.startswith("date:"):
        return Literal(item[5:], datatype=XSD.date)
    if isinstance(item, str) and item.startswith("str:"):
        return Literal(item[4:], datatype=XSD.string)
    return URIRef(GK[item])


def record_from_facts(pid: str, facts: dict[str, Any], defaults: bool = True) -> PatientRecord:
    """A record from gk local names -> value (str = gk individual, ``date:``/``str:`` prefixed = xsd:date/xsd:string,
    bool/int/float = literal, list = several, None = absent; ``patientId`` given replaces the generated one)."""
    record = PatientRecord(pid, patient_iri(pid), SourceRef("expectation corpus", pid))
    if "patientId" not in facts:
        record.add(str(GK.patientId), Literal(pid, datatype=XSD.string))
    for prop, value in facts.items():
        if value is None:
            continue
        for item in value if isinstance(value, list) else [value]:
            record.add(str(GK[prop]), fact_term(item))
    if defaults:
        apply_defaults(record)
    return record


def observed(result, decision_classes: frozenset[str] | None = None) -> dict[str, Any]:
    """The comparable view of one :class:`guidekg.recommend.PatientResult` (or its JSON)."""
    data = result if isinstance(result, dict) else result.as_json()
    out: dict[str, Any] = {
        "status": data["status"],
        "treatment_classes": sorted(data["treatment_classes"]),
        "alerts": {a["id"]: a["severity"] for a in data["alerts"]},
        "consistent": data["status"] != "contradictory",
    }
    if "plan" in data:  # the reviewed fields of each plan entry (codes, reason and evidence are the vocabulary's)
        out["plan"] = [{k: p.get(k) for k in PLAN_FIELDS} for p in data["plan"]]
    if decision_classes is not None and not isinstance(result, dict):
        out["classes"] = sorted(curie(c) for c in result.classes if c in decision_classes)
    return out


def _normal(key: str, value: Any) -> Any:
    if key in ("treatment_classes", "classes"):
        return sorted(value)
    return value


def mismatches(expect: dict[str, Any], got: dict[str, Any]) -> list[str]:
    """Human-readable differences for every key the expectation has; empty when it matches."""
    out = []
    for key, want in expect.items():
        if key not in COMPARED:
            continue
        have = got.get(key, "<absent>")
        if _normal(key, want) != _normal(key, have):
            if isinstance(want, (list, dict)) and isinstance(have, (list, dict)):
                extra = sorted(set(have) - set(want)) if not isinstance(want, dict) else \
                    sorted(f"{k}={v}" for k, v in have.items() if want.get(k) != v)
                missing = sorted(set(want) - set(have)) if not isinstance(want, dict) else \
                    sorted(f"{k}={v}" for k, v in want.items() if have.get(k) != v)
                out.append(f"{key}: extra {extra}, missing {missing}")
            else:
                out.append(f"{key}: expected {want!r}, got {have!r}")
    return out


def _load(path: Path) -> dict[str, Any]:
    return json.loads(path.read_text(encoding="utf-8")) if path.is_file() else {}


def example_expectations(folder: Path = EXPECTED_DIR) -> dict[str, dict[str, Any]]:
    """examples.json merged with examples-plan.json (the plan file adds keys; examples.json wins on a clash)."""
    examples = _load(folder / "examples.json")
    plans = {p: v for p, v in _load(folder / "examples-plan.json").items() if not p.startswith("_")}
    merged: dict[str, dict[str, Any]] = {}
    for pid in list(examples) + [p for p in plans if p not in examples]:
        entry = {"plan": plans[pid]} if pid in plans else {}
        entry.update(examples.get(pid, {}))
        merged[pid] = entry
    return merged


def example_cases(folder: Path = EXPECTED_DIR, examples_csv: Path | None = None) -> list[Case]:
    from ..ingest import read_patients
    from ..resources import data_dir

    csv = examples_csv or data_dir("examples") / "patients.csv"
    expected = example_expectations(folder)
    cases = []
    for record in read_patients([csv]):
        entry = expected.get(record.patient_id)
        if entry is None:
            continue
        disputed = entry.get("disputed", {})
        expect = {k: v for k, v in entry.items() if k in COMPARED}
        expect.update(disputed.get("observed", {}))  # the suite pins today's answer; the dispute is reported
        cases.append(Case(record.patient_id, record, expect, "examples", disputed))
    return cases


def constructed_cases(name: str, folder: Path = EXPECTED_DIR) -> list[Case]:
    """Cases of conformance.json or safety.json: the base patient with each case's overrides."""
    data = _load(folder / f"{name}.json")
    cases = []
    for cid, entry in sorted(data.get("cases", {}).items()):
        facts = dict(data.get("base", {}))
        facts.update(entry.get("facts", {}))
        expect = {k: v for k, v in entry.items() if k in COMPARED}
        cases.append(Case(f"{name}:{cid}", record_from_facts(f"{name}-{cid}", facts), expect, name))
    return cases


__all__ = ["Case", "EXPECTED_DIR", "constructed_cases", "example_cases", "example_expectations", "mismatches",
           "observed", "record_from_facts"]
