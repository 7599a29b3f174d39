"""The population line renderer (guidekg.export.lines) is byte for byte the reference renderer,
whatever a result holds: its caches must never hand one patient's text to another."""

from __future__ import annotations

import copy

import pytest
from rdflib import Literal

from guidekg.export import lines
from guidekg.export.json import render_ndjson_line
from guidekg.fastvalidate import validate_fast
from guidekg.ingest.casesheet import read_csv
from guidekg.recommend import assess
from guidekg.synthetic import write_cohort


@pytest.fixture(scope="module")
def results(tmp_path_factory):
    path = write_cohort(tmp_path_factory.mktemp("lines") / "c.csv", 300, seed=23)
    return assess(list(read_csv(path)), validator=validate_fast)


@pytest.mark.parametrize("explain", [False, True])
def test_every_line_equals_the_reference(results, explain):
    for result in results:
        assert lines.render_line(result, explain) == render_ndjson_line(result, explain)


def _with_alerts(result):
    return next(r for r in result if any("details" in a for a in r.alerts) and len(r.alerts) > 1)


def test_an_alert_with_other_details_or_fields_is_not_served_from_the_cache(results):
    result = copy.deepcopy(_with_alerts(results))
    lines.render_line(result)  # caches the alerts' knowledge parts
    alert = next(a for a in result.alerts if "details" in a)
    alert["details"] = ['quote " backslash \\ and "ünïcode" \u2028', Literal("a literal")]
    assert lines.render_line(result) == render_ndjson_line(result)
    del alert["details"]
    assert lines.render_line(result) == render_ndjson_line(result)
    alert["raised_by"], alert["severity"] = None, "info"  # a knowledge field changed: a different text
    assert lines.render_line(result) == render_ndjson_line(result)
    moved = {"raised_by": alert.pop("raised_by"), **alert}  # a per-patient field first
    result.alerts[result.alerts.index(alert)] = moved
    assert lines.render_line(result) == render_ndjson_line(result)


def test_a_changed_alert_text_under_the_same_id_is_rendered_as_it_is(results):
    """The caches are keyed by ids for speed; a result built from other knowledge (the content
    edited, in a long-lived process) must still come out as it is."""
    result = copy.deepcopy(_with_alerts(results))
    lines.render_line(result)
    result.alerts[0]["message"] = "edited message"
    result.alerts[1]["evidence"] = result.alerts[1]["evidence"][:1]
    result.recommendations[0]["title"] = "edited title"
    assert lines.render_line(result) == render_ndjson_line(result)


def test_plan_evidence_and_odd_values_are_exact(results):
    result = copy.deepcopy(next(r for r in results if any(e["evidence"] for e in r.plan)))
    lines.render_line(result)
    entry = next(e for e in result.plan if e["evidence"])
    entry["evidence"] = entry["evidence"][::-1]  # same items, other order: another text
    entry["codes"] = [{"system": "s", "code": 1.5}, "x"]
    entry["reason"] = Literal("reason as a str subclass")
    assert lines.render_line(result) == render_ndjson_line(result)
    entry["evidence"] = [{"no id": True}]
    assert lines.render_line(result) == render_ndjson_line(result)
    entry["extra"] = "after the evidence"
    assert lines.render_line(result) == render_ndjson_line(result)


def test_the_caches_stay_bounded(results, monkeypatch):
    monkeypatch.setattr(lines, "_LIMIT", 5)
    for cache in (lines._RECOMMENDATIONS, lines._ALERTS, lines._EVIDENCE, lines._NAMES):
        monkeypatch.setattr(lines, {id(lines._RECOMMENDATIONS): "_RECOMMENDATIONS", id(lines._ALERTS): "_ALERTS",
                                    id(lines._EVIDENCE): "_EVIDENCE", id(lines._NAMES): "_NAMES"}[id(cache)], {})
    for result in results:
        assert lines.render_line(result) == render_ndjson_line(result)
    assert all(len(c) <= 5 for c in (lines._RECOMMENDATIONS, lines._ALERTS, lines._EVIDENCE, lines._NAMES))


def test_an_entry_or_alert_changed_in_place_after_rendering_is_rendered_as_it_is_now(results):
    """Plan entries are shared between patients and remembered by object: a change made to the
    same object afterwards (values, evidence, key order, details) must show."""
    result = copy.deepcopy(next(r for r in results if any(e["evidence"] for e in r.plan) and r.alerts))
    assert lines.render_line(result) == render_ndjson_line(result)
    entry = next(e for e in result.plan if e["evidence"])
    entry["reason"] = "changed in place"
    assert lines.render_line(result) == render_ndjson_line(result)
    entry["evidence"].append({"id": "gk:Ref_New", "citation": "added in place"})
    assert lines.render_line(result) == render_ndjson_line(result)
    reason = entry.pop("reason")
    entry["reason"] = reason  # same content, other key order
    assert lines.render_line(result) == render_ndjson_line(result)
    alert = result.alerts[0]
    alert.setdefault("details", []).append("a detail added in place")
    assert lines.render_line(result) == render_ndjson_line(result)
    alert["evidence"] = []  # knowledge part changed in place
    assert lines.render_line(result) == render_ndjson_line(result)
