"""Compact population output: one small row per patient, the texts written once beside it.

A full NDJSON line is ~12 KB because every patient repeats the text and evidence of its
recommendations, alerts and plan verdicts (11 GiB for a million patients). The compact row
keeps what differs between patients: status, class ids, recommendation ids, alert ids (with
what raised them and their patient-specific details), plan verdicts (action, from, codes,
verdict, reason, rule), validation findings, the headline. What is the same for every patient
who has it goes into a dictionary written once (``OUT.dict.json``):

* ``recommendations``: id -> the recommendation as the full form shows it, less ``classes``;
* ``class_recommendations``: treatment class -> the ids of its recommendations, from which
  each recommendation's ``classes`` (the patient's classes that brought it) is recomputed;
* ``alerts``: id -> the alert less ``raised_by`` and ``details``;
* ``evidence``: content key -> an evidence list (plan verdicts refer to it by key).

:func:`expand_row` rebuilds the full form (ARCHITECTURE §5.1) exactly; :func:`compact_row`
checks that the recommendation classes come back as they were and otherwise keeps that
recommendation whole in the row, so the round trip is exact by construction (tests compare).
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

from .remembered import remembered

FORMAT = "guidekg-compact/1"

Dictionary = dict[str, dict[str, Any]]


def new_dictionary() -> Dictionary:
    return {"recommendations": {}, "class_recommendations": {}, "alerts": {}, "evidence": {}}


def _dump(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, default=str, separators=(",", ":"), sort_keys=True)


def _content_key(evidence: list[dict[str, Any]]) -> str:
    return "ev:" + hashlib.blake2b(_dump(evidence).encode(), digest_size=8).hexdigest()


_KEYS: dict[tuple[str, ...], tuple[list[dict[str, Any]], str]] = {}  # evidence ids -> (the list, its key)


def _evidence_key(evidence: list[dict[str, Any]]) -> str:
    """The content key of an evidence list. Hashing its sorted JSON cost ~0.03 ms a patient, and a
    population has a few hundred distinct lists: the key is remembered by the list's ids and used
    only for an equal list (:mod:`guidekg.export.remembered`; anything else is hashed)."""
    try:
        ids = tuple(item["id"] for item in evidence)
        hash(ids)
    except (TypeError, KeyError):  # not a list of knowledge items (or an unhashable id): no key
        return _content_key(evidence)
    return remembered(_KEYS, ids, evidence, _content_key, 10_000)


def compact_row(full: dict[str, Any], class_recommendations: dict[str, list[str]], into: Dictionary) -> dict[str, Any]:
    """The compact form of one full result (``PatientResult.as_json()``); adds what it refers
    to into ``into`` (a pure function of the knowledge, so every worker adds the same)."""
    row = dict(full)
    classes = full.get("treatment_classes", [])
    for cls in classes:
        if cls in class_recommendations:
            into["class_recommendations"].setdefault(cls, list(class_recommendations[cls]))
    known = into["class_recommendations"]
    recs: list[Any] = []
    for rec in full.get("recommendations", []):
        static = {k: v for k, v in rec.items() if k != "classes"}
        derived = [c for c in classes if rec["id"] in known.get(c, ())]
        current = into["recommendations"].get(rec["id"])
        if derived == rec.get("classes") and (current is None or current == static):
            into["recommendations"].setdefault(rec["id"], static)
            recs.append(rec["id"])
        else:
            recs.append(rec)  # not reconstructible from the dictionary: kept whole
    row["recommendations"] = recs
    alerts: list[dict[str, Any]] = []
    for alert in full.get("alerts", []):
        static = {k: v for k, v in alert.items() if k not in ("raised_by", "details")}
        current = into["alerts"].setdefault(alert["id"], static)
        if current != static:
            alerts.append({"whole": alert})
            continue
        alerts.append({k: alert[k] for k in ("id", "raised_by", "details") if k in alert})
    row["alerts"] = alerts
    plan = []
    for entry in full.get("plan", []):
        entry = dict(entry)
        evidence = entry.get("evidence")
        if evidence:
            key = _evidence_key(evidence)
            into["evidence"].setdefault(key, evidence)
            entry["evidence"] = key
        plan.append(entry)
    row["plan"] = plan
    return row


def expand_row(row: dict[str, Any], dictionary: Dictionary) -> dict[str, Any]:
    """The full form of a compact row (ARCHITECTURE §5.1)."""
    full = dict(row)
    classes = row.get("treatment_classes", [])
    known = dictionary["class_recommendations"]
    recs = []
    for rec in row.get("recommendations", []):
        if isinstance(rec, dict):
            recs.append(rec)
        else:
            recs.append(dict(dictionary["recommendations"][rec], classes=[c for c in classes if rec in known.get(c, ())]))
    full["recommendations"] = recs
    alerts = []
    for alert in row.get("alerts", []):
        if "whole" in alert:
            alerts.append(alert["whole"])
        else:
            alerts.append(dict(dictionary["alerts"][alert["id"]], **{k: v for k, v in alert.items() if k != "id"}))
    full["alerts"] = alerts
    plan = []
    for entry in row.get("plan", []):
        entry = dict(entry)
        if isinstance(entry.get("evidence"), str):
            entry["evidence"] = dictionary["evidence"][entry["evidence"]]
        plan.append(entry)
    full["plan"] = plan
    return full


def merge(into: Dictionary, other: Dictionary) -> None:
    for table, entries in other.items():
        target = into.setdefault(table, {})
        for key, value in entries.items():
            target.setdefault(key, value)


def class_recommendation_ids(kb: Any) -> dict[str, list[str]]:
    """Treatment class CURIE -> its recommendation ids (what ``classes`` is recomputed from)."""
    from ..namespaces import curie

    return {curie(cls): [r["id"] for r in kb.recommendations(cls)] for cls in sorted(kb.treatment_classes)}


def write_dictionary(path: str, dictionary: Dictionary, version: str) -> None:
    with open(path, "w", encoding="utf-8") as handle:
        json.dump({"format": FORMAT, "knowledge_version": version, **dictionary}, handle, ensure_ascii=False,
                  default=str, indent=1, sort_keys=True)
        handle.write("\n")


def read_dictionary(path: str) -> Dictionary:
    with open(path, encoding="utf-8") as handle:
        data = json.load(handle)
    if data.get("format") != FORMAT:
        raise ValueError(f"{path}: not a guidekg compact dictionary (format {data.get('format')!r}, expected {FORMAT})")
    return {k: data.get(k, {}) for k in new_dictionary()}


def dictionary_path(out: str) -> str:
    """OUT.ndjson -> OUT.dict.json; OUT.parquet -> OUT.dict.json."""
    stem = out[: -len(suffix)] if (suffix := next((s for s in (".ndjson", ".jsonl", ".parquet", ".json") if out.endswith(s)), "")) else out
    return stem + ".dict.json"
