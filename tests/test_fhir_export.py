"""``--format fhir``: a valid R4 Bundle of GuidanceResponse, RequestGroup, DetectedIssue per patient."""

from __future__ import annotations

import json
from dataclasses import dataclass, replace
from pathlib import Path

import pytest
from fhir.resources.R4B.bundle import Bundle

from fhir_schema import profile_errors, validator, value_set_codes
from guidekg.export.fhir import patient_entries, render_fhir
from guidekg.export.fhir_issues import DETECTED_ISSUE_URL, detected_issue_codesystem, operation_outcome
from guidekg.export.fhir_knowledge import PLAN_URL, plan_definition
from guidekg.ingest import read_patients
from guidekg.model import Finding
from guidekg.recommend import PatientResult, assess

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


def test_bundle_passes_the_official_r4_schema(bundle):
    """Examples plus the public mCODE examples; the models alone missed invalid RelatedArtifact.url values."""
    errors = list(validator().errors(bundle))
    assert errors == [], "\n".join(errors[:20])


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


# ---------------------------------------------------------------- issue 12 part 7 / issue 11 part 4 regressions

RXNORM = "http://www.nlm.nih.gov/research/umls/rxnorm"


def _resource(bundle, url):
    return next(e["resource"] for e in bundle["entry"] if e["fullUrl"] == url)


def _walk(node):
    if isinstance(node, dict):
        yield node
        for value in node.values():
            yield from _walk(value)
    elif isinstance(node, list):
        for value in node:
            yield from _walk(value)


def test_each_drug_is_its_own_code_concept(bundle):
    """Regression: one CodeableConcept mixed cetuximab (RxNorm 318341) and panitumumab (263034)."""
    for node in _walk(bundle):
        if isinstance(node.get("coding"), list):
            rxnorm = {c["code"] for c in node["coding"] if c.get("system") == RXNORM}
            assert len(rxnorm) <= 1, node
    [group] = _by_patient(bundle, "RequestGroup")["EX01-left-ras-wt"]
    codes = [{c["code"] for c in concept.get("coding", []) if c["system"] == RXNORM}
             for action in group["action"] for concept in action.get("code", [])]
    assert {"318341"} in codes and {"263034"} in codes


def test_do_not_actions_are_do_not_perform_requests(bundle):
    """Regression: 'avoid' carried the drug code with the negation only in text ('Do not: ...')."""
    seen = 0
    for group in (g for gs in _by_patient(bundle, "RequestGroup").values() for g in gs):
        for action in group.get("action", []):
            if "textEquivalent" not in action:
                assert "resource" not in action
                continue
            refs = [action["resource"]] if "resource" in action else [sub["resource"] for sub in action["action"]]
            for ref in refs:
                request = _resource(bundle, ref["reference"])
                assert request["doNotPerform"] is True and request["intent"] == "proposal"
                assert request["instantiatesCanonical"][0].startswith("https://w3id.org/guidekg/fhir/ActivityDefinition/do-not-")
                seen += 1
    assert seen
    [group] = _by_patient(bundle, "RequestGroup")["EX12-converted-one-stage"]
    [bev] = [a for a in group["action"] if a["id"] == "Rec_S20"]
    request = _resource(bundle, bev["resource"]["reference"])
    assert request["resourceType"] == "MedicationRequest"
    assert {"system": RXNORM, "code": "253337"} in request["medicationCodeableConcept"]["coding"]


def test_detected_issues_use_the_standard_category_and_a_published_code_system(bundle):
    """Regression: DetectedIssue codes came from a URL with no published CodeSystem."""
    allowed = value_set_codes("http://hl7.org/fhir/ValueSet/detectedissue-category")
    published = {c["code"] for c in detected_issue_codesystem()["concept"]}
    categorised = 0
    for issue in (i for issues in _by_patient(bundle, "DetectedIssue").values() for i in issues):
        systems = [c["system"] for c in issue["code"]["coding"]]
        assert set(systems) <= {DETECTED_ISSUE_URL, "http://terminology.hl7.org/CodeSystem/v3-ActCode"}, systems
        assert _project_code(issue) in published
        for coding in issue["code"]["coding"]:
            if coding["system"] != DETECTED_ISSUE_URL:
                assert (coding["system"], coding["code"]) in allowed
                categorised += 1
        if issue["severity"] == "high":  # a violation: add 'gk:Alert_X skos:broadMatch v3act:...' to codesystem.ttl
            assert len(systems) == 2, f"{_project_code(issue)} has no detectedissue-category (ontology/codesystem.ttl)"
    assert categorised


def test_guidance_response_and_request_group_point_at_the_plan_definition(bundle):
    assert plan_definition()["url"] == PLAN_URL
    for response in (r for rs in _by_patient(bundle, "GuidanceResponse").values() for r in rs):
        assert response["moduleCanonical"] == PLAN_URL and "moduleUri" not in response
    for group in (g for gs in _by_patient(bundle, "RequestGroup").values() for g in gs):
        assert group["instantiatesCanonical"] == [PLAN_URL]


def test_no_resource_claims_a_profile_it_does_not_meet(bundle):
    """Regression: example Patients claimed mcode-cancer-patient without identifier/name (required there),
    Conditions claimed mCODE cancer-condition profiles without category. Only profiles checked here may be declared."""
    examples = [json.loads(p.read_text(encoding="utf-8")) for p in (ROOT / "examples" / "fhir").glob("*.json")]
    declared = 0
    for node in _walk([bundle, *examples]):
        if "resourceType" in node and node.get("meta", {}).get("profile"):
            declared += 1
            assert profile_errors(node) == []
    assert declared == 2  # the two project CodeSystems (shareablecodesystem); patients and results declare none
    unmet = {"resourceType": "Patient", "id": "x", "meta": {"profile": [
        "http://hl7.org/fhir/us/mcode/StructureDefinition/mcode-cancer-patient"]}}
    assert profile_errors(unmet)


def test_operation_outcome_expressions_are_fhirpath(results):
    """Regression: OperationOutcome.issue.expression held 'gk:primarySite', not FHIRPath."""
    base = next(r for r in results if r.record.patient_id == "EX16-contradictory-symptoms")
    bad = replace(base, status="invalid", conflicts=[], validation=[
        Finding("primary site: 'liver' is not a value", path="gk:primarySite"),
        Finding("ECOG: 7 is out of range", path="gk:ecog"),
        Finding("resectability missing", path="gk:resectability"),
        Finding("row is malformed")])
    issues = operation_outcome(bad)["issue"]
    assert issues[0]["expression"] == ["Condition.bodySite"]
    assert issues[1]["expression"] == ["Observation.where(code.coding.exists(system = 'http://loinc.org' and code = '89247-1')).value"]
    assert issues[2]["expression"] == ["Observation.where(code.coding.exists("
                                       "system = 'https://w3id.org/guidekg/CodeSystem/guidekg' and code = 'resectability')).value"]
    assert "expression" not in issues[3]
    for issue in issues:
        assert not any(e.startswith("gk:") for e in issue.get("expression", []))
    entries = patient_entries(0, bad)
    [outcome] = [e["resource"] for e in entries if e["resource"]["resourceType"] == "OperationOutcome"]
    assert outcome["issue"][0]["expression"] == ["Condition.bodySite"]


def _with_plan(result, headline, plan):
    """A result as the decision layer (issue 11) will give it: as_json() gains 'headline' and 'plan'."""
    @dataclass
    class Planned(PatientResult):
        def as_json(self, explain: bool = False):
            return {**super().as_json(explain), "headline": headline, "plan": plan}

    return Planned(**{f: getattr(result, f) for f in result.__dataclass_fields__})


def test_headline_and_plan_verdicts_travel_as_output_parameters(results):
    """Issue 11 part 4: FHIR output carries the headline and the plan verdicts (GuidanceResponse.outputParameters);
    an unsafe verdict is a DetectedIssue implicating the planned order."""
    base = next(r for r in results if r.record.patient_id == "EX03-kras-mutant-fit")
    alert = {"id": "gk:Alert_AntiEGFRNotEligible", "severity": "violation", "label": "Anti-EGFR planned without confirmed eligibility",
             "message": "KRAS mutant: anti-EGFR does not work.", "evidence": []}
    headline = {"text": "FOLFOXIRI plus bevacizumab; next: reassess resectability at 2 months.",
                "first_line": {"class": "gk:TripletPlusBevacizumab", "label": "triplet chemotherapy plus bevacizumab"},
                "next_steps": [{"id": "gk:Rec_S7", "label": "Reassess resectability"}], "missing": ["HER2 status"]}
    plan = [
        {"action": "cetuximab", "from": "current", "codes": [{"system": RXNORM, "code": "318341"}],
         "verdict": "contraindicated", "reason": "KRAS mutant", "rule": "gk:Alert_AntiEGFRNotEligible", "evidence": []},
        {"action": "FOLFOX", "from": "planned", "codes": [{"system": "https://w3id.org/guidekg/CodeSystem/guidekg", "code": "folfox"}],
         "verdict": "consistent", "reason": "a doublet backbone", "rule": "gk:Rec_S1", "evidence": []},
        {"action": "pelvic RT", "from": "planned", "codes": [], "verdict": "not-recommended",
         "reason": "defer radiotherapy while metastases are non-resectable", "rule": "gk:Rec_S10", "evidence": []},
    ]
    planned = _with_plan(base, headline, plan)
    planned.alerts = [*base.alerts, alert]
    entries = patient_entries(0, planned)
    by_url = {e["fullUrl"]: e["resource"] for e in entries}
    [response] = [r for r in by_url.values() if r["resourceType"] == "GuidanceResponse"]
    params = by_url[response["outputParameters"]["reference"]]
    assert params["resourceType"] == "Parameters"
    named = {}
    for p in params["parameter"]:
        named.setdefault(p["name"], []).append(p)
    assert named["headline"][0]["valueString"] == headline["text"]
    assert named["missing"][0]["valueString"] == "HER2 status"
    assert {p["valueUri"] for p in named["treatment-class"]} == set(base.treatment_classes)
    verdicts = [{q["name"]: q for q in p["part"]} for p in named["plan"]]
    assert [v["verdict"]["valueCode"] for v in verdicts] == ["contraindicated", "consistent", "not-recommended"]
    requests = [by_url[v["request"]["valueReference"]["reference"]] for v in verdicts]
    assert [r["resourceType"] for r in requests] == ["MedicationStatement", "MedicationRequest", "ServiceRequest"]
    issues = [r for r in by_url.values() if r["resourceType"] == "DetectedIssue"]
    [egfr] = [i for i in issues if _project_code(i) == "Alert_AntiEGFRNotEligible"]
    assert [by_url[x["reference"]] for x in egfr["implicated"]] == [requests[0]]
    [rt] = [i for i in issues if _project_code(i) == "plan-not-recommended"]
    assert [by_url[x["reference"]] for x in rt["implicated"]] == [requests[2]]
    assert {"system": "http://terminology.hl7.org/CodeSystem/v3-ActCode", "code": "OBSA"}.items() <= rt["code"]["coding"][0].items()
    assert not any(_project_code(i).startswith("plan-consistent") for i in issues)
    errors = [e for r in by_url.values() for e in validator().errors(r)]
    assert errors == []


def test_pitfall_alerts_implicate_the_planned_order(bundle):
    """DetectedIssue.implicated names the planned order the alert is about (here from the record's
    planned_actions: EX17 plans long-course chemoradiotherapy, EX11 a liver biopsy)."""
    by_url = {e["fullUrl"]: e["resource"] for e in bundle["entry"]}

    def implicated(patient, code):
        [issue] = [i for i in _by_patient(bundle, "DetectedIssue")[patient] if _project_code(i) == code]
        return [by_url[x["reference"]] for x in issue.get("implicated", [])]

    [crt] = implicated("EX17-unsafe-upfront-pelvis", "Alert_UpfrontLongCourseCRT")
    assert crt["resourceType"] == "ServiceRequest" and crt["intent"] == "plan"
    assert crt["code"]["coding"] == [{"system": "https://w3id.org/guidekg/CodeSystem/guidekg", "code": "long-course-chemoradiotherapy"}]
    [biopsy] = implicated("EX11-reassessment-due", "Alert_LiverBiopsyWithoutHPBReview")
    assert biopsy["code"]["coding"][0]["code"] == "liver-biopsy"
    assert implicated("EX02-msi-high", "Alert_ConfirmRectalMSIH") == []


def test_a_shape_verdict_implicates_the_order_through_the_shapes_alert(results):
    """The decision layer names a safety shape as a verdict's rule; the DetectedIssue of the alert that
    shape raises (gk:raisesAlert) implicates the order, and no second DetectedIssue is made for it."""
    from rdflib import URIRef

    from guidekg import resources
    from guidekg.namespaces import GK

    shapes = resources.shared_graph("shapes", *resources.SHAPES)
    [shape] = list(shapes.subjects(GK.raisesAlert, GK.Alert_LiverBiopsyWithoutHPBReview))
    assert isinstance(shape, URIRef)
    base = next(r for r in results if r.record.patient_id == "EX11-reassessment-due")
    assert "gk:Alert_LiverBiopsyWithoutHPBReview" in {a["id"] for a in base.alerts}
    plan = [{"action": "liver biopsy", "from": "planned", "codes": [], "verdict": "contraindicated",
             "reason": "no hepatobiliary review yet", "rule": str(shape), "evidence": []}]
    entries = patient_entries(0, _with_plan(base, {}, plan))
    by_url = {e["fullUrl"]: e["resource"] for e in entries}
    issues = [r for r in by_url.values() if r["resourceType"] == "DetectedIssue"]
    assert len(issues) == len(base.alerts)
    [biopsy] = [i for i in issues if _project_code(i) == "Alert_LiverBiopsyWithoutHPBReview"]
    [order] = [by_url[x["reference"]] for x in biopsy["implicated"]]
    assert order["resourceType"] == "ServiceRequest"
    assert order["code"]["coding"] == [{"system": "https://w3id.org/guidekg/CodeSystem/guidekg", "code": "liver-biopsy"}]
