"""NDJSON lines at population scale: byte for byte :func:`guidekg.export.json.render_ndjson_line`,
with the knowledge parts of a line encoded once per process.

A full line is ~15 KB, and ~90 % of it is knowledge the patient only points at: the text and
evidence of its recommendations, of its alerts and of the rules behind its plan verdicts.
Encoding all of it again for every patient cost ~0.11 ms, a fifth of a patient's time; these
parts are encoded once per process, each under a key:

* a patient's recommendations depend only on its treatment classes and on which of their
  recommendations apply in its phase and plan (key: classes and recommendation ids);
* an alert is :meth:`Knowledge.alert` of its id, followed by who raised it and the details
  (key: the id; the two per-patient fields are encoded per patient);
* an evidence list is :meth:`Knowledge.evidence` of its items (key: the ids in order);
* a whole alert, when raised the same way with the same details (9 in 10 alerts repeat);
* a plan entry, by object: entries are shared between patients (:mod:`guidekg.decision.memo`).

A cached text is taken only when the part has the same keys in the same order and equal values
as the one it was encoded from (the comparison is cheap: the values share their objects with
the knowledge); anything else is encoded in full, so a result built from other knowledge, or
edited, still comes out as it is. tests/test_lines.py compares every line with the reference
renderer, also with ``--explain`` and with edited results.
"""

from __future__ import annotations

import json
from typing import Any

from .remembered import remembered

_DUMP = json.JSONEncoder(ensure_ascii=False, default=str, separators=(",", ":")).encode
_STRING = json.encoder.encode_basestring  # what that encoder does with a str (ensure_ascii=False)
_LIMIT = 10_000  # entries per cache; a population has a few hundred distinct combinations

# Each cache holds the value beside its text, and a text is used only when the value is equal
# (guidekg.export.remembered): a result built from other knowledge is encoded in full.
_RECOMMENDATIONS: dict[tuple[str, ...], tuple[list, str]] = {}  # (classes, '|', recommendation ids)
_ALERTS: dict[tuple[str, tuple[str, ...]], tuple[tuple, str]] = {}  # (id, keys) -> (knowledge values, JSON less '}')
_EVIDENCE: dict[tuple[str, ...], tuple[list, str]] = {}  # evidence ids in order
_WHOLE_ALERTS: dict[tuple, tuple[tuple, str]] = {}  # (id, keys, raised_by, details) -> (knowledge values, JSON)
_ENTRIES: dict[int, tuple[dict, tuple, dict, str]] = {}  # id(entry) -> (entry, its keys, a copy, JSON)

_ALERT_TAIL = ("raised_by", "details")  # the fields decision.memo.PlanMemo.alerts adds per patient
_HEAD = ("patient", "status", "treatment_classes")


_NAMES: dict[str, str] = {}


def _name(key: str) -> str:
    """A field name as JSON (the names are a handful of fixed strings)."""
    text = _NAMES.get(key)
    return text if text is not None else _remember(_NAMES, key, _DUMP(key))


def _remember(cache: dict, key: Any, text: str) -> str:
    if len(cache) < _LIMIT:
        cache[key] = text
    return text


def _value(value: Any) -> str:
    """One field value as JSON: the common scalars without the encoder's per-call set-up."""
    kind = type(value)
    if kind is str:
        return _STRING(value)
    if value is None:
        return "null"
    if kind is list and all(type(item) is str for item in value):
        return "[" + ",".join(map(_STRING, value)) + "]"
    return _DUMP(value)


def _evidence(items: list[dict[str, Any]]) -> str:
    try:
        key = tuple(item["id"] for item in items)
        hash(key)
    except (TypeError, KeyError):  # not a list of knowledge items (or an unhashable id): no key
        return _DUMP(items)
    return remembered(_EVIDENCE, key, items, _DUMP, _LIMIT)


def _alert_text(alert: dict[str, Any], keys: tuple[str, ...]) -> tuple[tuple | None, str]:
    """(the alert's knowledge values, or None when it has no knowledge part; its JSON)."""
    try:
        cached = _ALERTS.get((alert.get("id"), keys))
    except TypeError:  # an unhashable id
        return None, _DUMP(alert)
    if cached is None:
        static = tuple(k for k in keys if k not in _ALERT_TAIL)
        if not static or keys[:len(static)] != static or type(alert.get("id")) is not str:
            return None, _DUMP(alert)  # no knowledge part, or a per-patient field before it
        values = tuple(alert[k] for k in static)
        cached = _remember(_ALERTS, (alert["id"], keys), (values, _DUMP(dict(zip(static, values, strict=True)))[:-1]))
    values, head = cached
    if tuple(alert[k] for k in keys[:len(values)]) != values:
        return None, _DUMP(alert)  # other knowledge under the same id
    return values, head + "".join([f",{_name(name)}:{_value(alert[name])}" for name in keys[len(values):]]) + "}"


def _alert(alert: dict[str, Any]) -> str:
    """An alert: the whole text when this alert was raised the same way with the same details
    before (9 in 10 alerts of a synthetic cohort), else its knowledge part from the cache."""
    keys = tuple(alert)
    details = alert.get("details")
    try:
        key = (alert.get("id"), keys, alert.get("raised_by"), tuple(details) if type(details) is list else details)
        whole = _WHOLE_ALERTS.get(key)
    except TypeError:  # an unhashable part: no whole-alert key
        return _alert_text(alert, keys)[1]
    if whole is not None and tuple(alert[k] for k in keys[:len(whole[0])]) == whole[0]:
        return whole[1]
    values, text = _alert_text(alert, keys)
    if values is not None and whole is None:
        _bounded(_WHOLE_ALERTS, key, (values, text))
    return text


def _bounded(cache: dict, key: Any, value: Any) -> None:
    """Remember ``value``; a cache of per-patient combinations is emptied when it is full."""
    if len(cache) >= 2 * _LIMIT:
        cache.clear()
    cache[key] = value


def _entry(entry: dict[str, Any]) -> str:
    """A plan entry. Entries are shared between patients (:mod:`guidekg.decision.memo`), so the
    text is remembered by the entry object, checked against a copy of what it was made from."""
    cached = _ENTRIES.get(id(entry))
    if cached is not None and cached[0] is entry and cached[1] == tuple(entry) and cached[2] == entry:
        return cached[3]
    text = _entry_text(entry)
    _bounded(_ENTRIES, id(entry), (entry, tuple(entry), {k: list(v) if type(v) is list else v for k, v in entry.items()}, text))
    return text


def _entry_text(entry: dict[str, Any]) -> str:
    """A plan entry: its evidence list (the last field) from the cache, the rest encoded."""
    keys = list(entry)
    if not keys or keys[-1] != "evidence" or type(entry["evidence"]) is not list or not entry["evidence"]:
        return _DUMP(entry)
    fields = [f"{_name(k)}:{_value(entry[k])}" for k in keys[:-1]]
    fields.append('"evidence":' + _evidence(entry["evidence"]))
    return "{" + ",".join(fields) + "}"


def _listed(items: Any, render: Any) -> str:
    if type(items) is not list:
        return _DUMP(items)
    return "[" + ",".join([render(item) if type(item) is dict else _DUMP(item) for item in items]) + "]"


def render_line(result: Any, explain: bool = False) -> str:
    """One NDJSON line of ``result`` (a :class:`guidekg.recommend.PatientResult`)."""
    data = result.as_json(explain)
    keys = list(data)
    if keys[:4] != [*_HEAD, "recommendations"]:
        return _DUMP(data)
    recommendations = data["recommendations"]
    key = (*result.treatment_classes, "|", *(r["id"] for r in recommendations))
    recs = remembered(_RECOMMENDATIONS, key, recommendations, _DUMP, _LIMIT)
    parts = [_DUMP({k: data[k] for k in _HEAD})[:-1], ',"recommendations":', recs]
    for name in keys[4:]:
        value = data[name]
        if name == "alerts":
            text = _listed(value, _alert)
        elif name == "plan":
            text = _listed(value, _entry)
        elif type(value) is list and not value:
            text = "[]"
        else:
            text = _DUMP(value)
        parts.append(f",{_name(name)}:{text}")
    parts.append("}")
    return "".join(parts)
