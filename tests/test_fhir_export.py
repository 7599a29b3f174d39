"""``--format fhir``: a valid R4 Bundle of GuidanceResponse, RequestGroup, DetectedIssue per patient."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from fhir.resources.R4B.bundle import Bundle

from guidekg.export.fhir import render_fhir
from guidekg.export.fhir_issues import DETECTED_ISSUE_URL
from guidekg.ingest import read_patients
from guidekg.recommend import assess

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def results(fast):
    return assess(list(read_patients([ROOT / "examples" / "patients.csv", ROOT / "tests" / "data" / "fhir-ig" / "mcode"])),
                  reasoner=fast)


@pytest.fixture(scope="module")
def bundle(results):
    return json.loads(render_fhir(results))


def _by_patient(bundle, rtype):
    out = {}
    for entry in bundle["entry"]:
        res = entry["resource"]
        if res["resourceType"] != rtype:
            continue
        subject = res.get("subject") or res.get("patient") or res.get("requestIdentifier")
        key = subject.get("value") or subject["identifier"]["value"]
        out.setdefault(key, []).append(res)
    return out


def _project_code(issue):
    [code] = [c["code"] for c in issue["code"]["coding"] if c["system"] == DETECTED_ISSUE_URL]
    return code


def test_bundle_validates_against_the_r4_models(bundle):
    parsed = Bundle.model_validate(bundle)
    assert parsed.type == "collection"
    assert len({e["fullUrl"] for e in bundle["entry"]}) == len(bundle["entry"])


def test_one_guidance_response_per_patient_with_status(results, bundle):
    responses = _by_patient(bundle, "GuidanceResponse")
    assert list(responses) == [r.record.patient_id for r in results]
    status = {pid: rs[0]["status"] for pid, rs in responses.items()}
    assert status["EX01-left-ras-wt"] == "success"
    assert status["EX08-molecular-missing"] == "data-required"
    assert status["EX21-symptoms-phase-unrecorded"] == "data-required"
    assert status["EX16-contradictory-symptoms"] == "failure"
    assert status["mCODEPatientExample01"] == "failure"


def test_data_requirements_name_the_missing_tests_with_codes(bundle):
    [response] = _by_patient(bundle, "GuidanceResponse")["EX08-molecular-missing"]
    codes = {c["code"] for req in response["dataRequirement"] for f in req["codeFilter"] for c in f["code"]}
    assert {"81695-9", "69548-6", "HGNC:6407", "HGNC:7989", "HGNC:1097"} <= codes
    [fitness] = _by_patient(bundle, "GuidanceResponse")["EX18-out-of-scope-missing-fitness"]
    codes = {c["code"] for req in fitness["dataRequirement"] for f in req["codeFilter"] for c in f["code"]}
    assert {"89247-1", "30525-0"} <= codes


def test_request_group_has_one_action_per_recommendation_with_citations(results, bundle):
    groups = _by_patient(bundle, "RequestGroup")
    for result in results:
        if result.status != "ok":
            assert result.record.patient_id not in groups
            continue
        [group] = groups[result.record.patient_id]
        assert len(group.get("action", [])) == len(result.recommendations)
    urls = {a["url"] for g in groups.values() for action in g[0].get("action", []) for a in action["documentation"] if "url" in a}
    assert any(u.startswith("https://doi.org/10.") for u in urls)


def test_detected_issues_carry_alert_severity(results, bundle):
    issues = _by_patient(bundle, "DetectedIssue")
    ex12 = {_project_code(i): i["severity"] for i in issues["EX12-converted-one-stage"]}
    assert ex12["Alert_BevacizumabSurgeryInterval"] == "high"
    ex02 = {_project_code(i): i["severity"] for i in issues["EX02-msi-high"]}
    assert ex02["Alert_ConfirmRectalMSIH"] == "low"
    total = sum(len(r.alerts) for r in results)
    assert sum(len(v) for v in issues.values()) == total


def test_failure_is_explained_by_an_operation_outcome(bundle):
    [response] = _by_patient(bundle, "GuidanceResponse")["mCODEPatientExample01"]
    url = response["evaluationMessage"][0]["reference"]
    outcome = next(e["resource"] for e in bundle["entry"] if e["fullUrl"] == url)
    assert any("no colorectal primary" in i["diagnostics"] for i in outcome["issue"])
