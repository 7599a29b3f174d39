"""CDS Hooks 2.0 service of ``guidekg serve`` (issue 14).

Shapes follow the CDS Hooks 2.0 specification text (cds-hooks/docs, docs/specification and
docs/hooks/order-sign.md; published at https://cds-hooks.hl7.org/2.0/): discovery lists
``services`` with hook, description, id and prefetch; a call carries hook, hookInstance and
context; a response is ``{"cards": [...]}`` with each card's summary (<140 characters),
indicator info|warning|critical and source.label; suggestions need selectionBehavior; override
reasons carry a display; links are label/url/type; feedback items carry card, outcome and
outcomeTimestamp (acceptedSuggestions when accepted); 412 when data cannot be had; no null or
empty JSON values. Requests are built from examples/fhir and tests/data/fhir-ig; the
fhirServer path goes to a FHIR server the test starts on loopback (tests/fhir_server.py).
"""

from __future__ import annotations

import json
import uuid
from pathlib import Path

import httpx
import pytest

from fhir_server import fhir_server
from guidekg.server.limits import ServerConfig
from serving import ROOT, free_port, live_server

EXAMPLES = ROOT / "examples" / "fhir"
MCODE = ROOT / "tests" / "data" / "fhir-ig" / "mcode"
SNV = ROOT / "tests" / "data" / "fhir-ig" / "genomics-reporting" / "Observation-SNVexample.json"
RXNORM = "http://www.nlm.nih.gov/research/umls/rxnorm"
CETUXIMAB, BEVACIZUMAB = "318341", "253337"  # RxNorm ingredient codes (ARCHITECTURE §4.3)
KEYS = {"Patient": "patient", "Condition": "conditions", "Observation": "observations", "MedicationRequest": "medicationRequests",
        "MedicationStatement": "medicationStatements", "MedicationAdministration": "medicationAdministrations",
        "Procedure": "procedures", "ServiceRequest": "serviceRequests"}
TOKEN = "test-token"
CLOSED = f"http://127.0.0.1:{free_port()}/fhir"  # listed with --cds-fhir-server, but nothing listens there


def resources(path: Path) -> list[dict]:
    document = json.loads(path.read_text(encoding="utf-8"))
    return [e["resource"] for e in document["entry"]] if document["resourceType"] == "Bundle" else [document]


def mcode() -> list[dict]:
    return [r for p in sorted(MCODE.glob("*.json")) for r in resources(p)]


def prefetch(items: list[dict]) -> dict:
    """The prefetch a CDS client fills from these resources: the Patient read, a searchset per template."""
    out: dict = {key: None for key in KEYS.values()}
    for resource in items:
        key = KEYS.get(resource["resourceType"])
        if key == "patient":
            out[key] = resource
        elif key:
            bundle = out[key] or {"resourceType": "Bundle", "type": "searchset", "entry": []}
            bundle["entry"].append({"resource": resource})
            out[key] = bundle
    return out


def cetuximab_order(patient: str, order_id: str = "draft-cetuximab") -> dict:
    return {"resourceType": "MedicationRequest", "id": order_id, "status": "draft", "intent": "order",
            "medicationCodeableConcept": {"coding": [{"system": RXNORM, "code": CETUXIMAB, "display": "cetuximab"}]},
            "subject": {"reference": f"Patient/{patient}"}}


def order_request(example: str, orders: list[dict], **extra) -> dict:
    items = resources(EXAMPLES / f"{example}.json")
    patient = next(r["id"] for r in items if r["resourceType"] == "Patient")
    body = {"hook": "order-sign", "hookInstance": str(uuid.uuid4()),
            "context": {"userId": "Practitioner/example", "patientId": patient,
                        "draftOrders": {"resourceType": "Bundle", "type": "collection", "entry": [{"resource": o} for o in orders]}},
            "prefetch": prefetch(items)}
    body.update(extra)
    return body


def walk(value, path="$"):
    yield path, value
    if isinstance(value, dict):
        for k, v in value.items():
            yield from walk(v, f"{path}.{k}")
    elif isinstance(value, list):
        for i, v in enumerate(value):
            yield from walk(v, f"{path}[{i}]")


def check_cards(answer: dict) -> list[dict]:
    """The response shape of CDS Hooks 2.0 "CDS Service Response"; returns the cards."""
    assert set(answer) <= {"cards", "systemActions"} and isinstance(answer["cards"], list)
    for path, value in walk(answer):
        assert value is not None and value != "" and value != {} and (value != [] or path == "$.cards"), f"empty value at {path}"
    for card in answer["cards"]:
        assert isinstance(card["summary"], str) and len(card["summary"]) < 140
        assert card["indicator"] in ("info", "warning", "critical")
        assert isinstance(card["source"]["label"], str)
        uuid.UUID(card["uuid"])
        if card.get("suggestions"):
            assert card["selectionBehavior"] in ("at-most-one", "any")
            for suggestion in card["suggestions"]:
                assert suggestion["label"] and suggestion["actions"]
                for action in suggestion["actions"]:
                    assert action["type"] in ("create", "update", "delete") and action["description"]
                    assert ("resource" in action) if action["type"] == "create" else True
        for reason in card.get("overrideReasons", []):
            assert reason["code"] and reason["system"] and reason["display"]
        for link in card.get("links", []):
            assert link["label"] and link["type"] in ("absolute", "smart") and link["url"].startswith(("http://", "https://"))
    return answer["cards"]


@pytest.fixture(scope="module")
def fhir():
    items = resources(EXAMPLES / "EX03-kras-mutant-fit.json") + resources(EXAMPLES / "EX01-left-ras-wt.json") + mcode()
    with fhir_server(items, TOKEN) as server:
        yield server


@pytest.fixture(scope="module")
def base(fhir):
    with live_server(ServerConfig(workers=1, cds_fhir_servers=[fhir.base, CLOSED])) as url:
        yield url


def call(base: str, service: str, body, timeout: float = 120) -> httpx.Response:
    content = body if isinstance(body, bytes) else json.dumps(body).encode()
    return httpx.post(f"{base}/cds-services/{service}", content=content, headers={"Content-Type": "application/json"}, timeout=timeout)


def test_discovery_lists_the_services_with_prefetch_templates(base):
    response = httpx.get(f"{base}/cds-services")
    assert response.status_code == 200
    services = {s["id"]: s for s in response.json()["services"]}
    assert {s["hook"] for s in services.values()} == {"patient-view", "order-sign", "order-select"}
    for service in services.values():
        assert service["description"] and service["title"]
        templates = set(service["prefetch"].values())
        for expected in ("Patient/{{context.patientId}}", "Condition?patient={{context.patientId}}",
                         "Observation?patient={{context.patientId}}", "MedicationRequest?patient={{context.patientId}}",
                         "Procedure?patient={{context.patientId}}"):
            assert expected in templates


def test_kras_mutant_cetuximab_order_is_critical_with_a_bevacizumab_suggestion(base):
    """Done-when: a KRAS-mutant patient with a draft cetuximab order gets a critical card with a suggestion."""
    body = order_request("EX03-kras-mutant-fit", [cetuximab_order("EX03-kras-mutant-fit")])
    body["prefetch"]["medicationRequests"] = None  # nothing else ordered yet: the card proposes the alternative
    response = call(base, "guidekg-order-sign", body)
    assert response.status_code == 200, response.text
    cards = check_cards(response.json())
    critical = [c for c in cards if c["indicator"] == "critical"]
    assert len(critical) == 1 and "cetuximab" in critical[0]["summary"]
    card = critical[0]
    deletes = [a for s in card["suggestions"] for a in s["actions"] if a["type"] == "delete"]
    assert deletes and all(a["resourceId"] == "MedicationRequest/draft-cetuximab" for a in deletes)
    creates = [a["resource"] for s in card["suggestions"] for a in s["actions"] if a["type"] == "create"]
    assert creates, "the guideline recommends bevacizumab for this patient: the card must offer it"
    codes = {(c["system"], c["code"]) for r in creates for c in r["medicationCodeableConcept"]["coding"]}
    assert (RXNORM, BEVACIZUMAB) in codes and (RXNORM, CETUXIMAB) not in codes
    assert all(r["resourceType"] == "MedicationRequest" and r["status"] == "draft"
               and r["subject"]["reference"] == "Patient/EX03-kras-mutant-fit" for r in creates)
    assert card["overrideReasons"]
    urls = [link["url"] for link in card["links"]]
    assert any(u.startswith("https://doi.org/10.") for u in urls) and any(u.startswith("https://pubmed.ncbi.nlm.nih.gov/") for u in urls)
    page = next(u for u in urls if "/mdt/cases/" in u)
    assert page.startswith(base)


def test_wild_type_left_sided_mss_patient_gets_no_warning_for_cetuximab(base):
    """Done-when: an all-wild-type left-sided MSS patient with the same order gets no warning."""
    response = call(base, "guidekg-order-sign", order_request("EX01-left-ras-wt", [cetuximab_order("EX01-left-ras-wt")]))
    assert response.status_code == 200, response.text
    cards = check_cards(response.json())
    assert [c for c in cards if c["indicator"] in ("warning", "critical")] == []


def test_no_replacement_for_what_is_already_planned(base):
    """EX03 already has bevacizumab planned: the card offers to remove cetuximab, not a second bevacizumab order."""
    body = order_request("EX03-kras-mutant-fit", [cetuximab_order("EX03-kras-mutant-fit")])
    cards = check_cards(call(base, "guidekg-order-sign", body).json())
    critical = [c for c in cards if c["indicator"] == "critical"]
    assert critical and [a["type"] for s in critical[0]["suggestions"] for a in s["actions"]] == ["delete"]


def test_order_select_judges_the_same_way(base):
    body = order_request("EX03-kras-mutant-fit", [cetuximab_order("EX03-kras-mutant-fit")])
    body["hook"] = "order-select"
    body["context"]["selections"] = ["MedicationRequest/draft-cetuximab"]
    cards = check_cards(call(base, "guidekg-order-select", body).json())
    assert [c["indicator"] for c in cards if "cetuximab" in c["summary"]] == ["critical"]
    body["context"]["selections"] = ["MedicationRequest/another-order"]  # cetuximab was selected earlier: not judged again
    cards = check_cards(call(base, "guidekg-order-select", body).json())
    assert [c for c in cards if "cetuximab" in c["summary"]] == []
    del body["context"]["selections"]
    assert call(base, "guidekg-order-select", body).status_code == 400


def test_patient_view_headline_alerts_and_links(base):
    items = resources(EXAMPLES / "EX03-kras-mutant-fit.json")
    body = {"hook": "patient-view", "hookInstance": str(uuid.uuid4()),
            "context": {"userId": "Practitioner/example", "patientId": "EX03-kras-mutant-fit"}, "prefetch": prefetch(items)}
    response = call(base, "guidekg-patient-view", body)
    assert response.status_code == 200, response.text
    cards = check_cards(response.json())
    assert "triplet chemotherapy plus bevacizumab" in cards[0]["summary"].lower()
    assert "Next steps" in cards[0]["detail"]
    assert all(any("/mdt/cases/" in link["url"] for link in c["links"]) for c in cards)


def test_patient_view_names_missing_data(base):
    items = resources(EXAMPLES / "EX18-out-of-scope-missing-fitness.json")
    body = {"hook": "patient-view", "hookInstance": str(uuid.uuid4()),
            "context": {"userId": "Practitioner/example", "patientId": items[0]["id"]}, "prefetch": prefetch(items)}
    cards = check_cards(call(base, "guidekg-patient-view", body).json())
    missing = [c for c in cards if c["summary"].startswith("Missing data:")]
    assert len(missing) == 1 and missing[0]["indicator"] == "warning"
    assert "ECOG performance status" in missing[0]["summary"] and "age in years" in missing[0]["summary"]


def test_fhir_server_path_fetches_the_templates_with_the_token(base, fhir):
    """No prefetch: the service reads the templates from fhirServer with the bearer token, GET only."""
    body = order_request("EX03-kras-mutant-fit", [cetuximab_order("EX03-kras-mutant-fit")],
                         fhirServer=fhir.base, fhirAuthorization={"access_token": TOKEN, "token_type": "Bearer", "expires_in": 300,
                                                                  "scope": "patient/*.read", "subject": "guidekg"})
    del body["prefetch"]
    before = len(fhir.requests)
    response = call(base, "guidekg-order-sign", body)
    assert response.status_code == 200, response.text
    cards = check_cards(response.json())
    assert [c["indicator"] for c in cards if "cetuximab" in c["summary"]] == ["critical"]
    seen = fhir.requests[before:]
    assert seen and all(m == "GET" and auth == f"Bearer {TOKEN}" for m, _, auth in seen)
    paths = {p for _, p, _ in seen}
    assert "/fhir/Patient/EX03-kras-mutant-fit" in paths and "/fhir/Observation?patient=EX03-kras-mutant-fit" in paths


def test_public_mcode_patient_gets_an_explanatory_card(base, fhir):
    """The mCODE example patient (lung cancer) is out of scope: a card says so instead of an empty answer."""
    body = {"hook": "patient-view", "hookInstance": str(uuid.uuid4()), "fhirServer": fhir.base,
            "fhirAuthorization": {"access_token": TOKEN, "token_type": "Bearer", "expires_in": 300, "scope": "patient/*.read",
                                  "subject": "guidekg"},
            "context": {"userId": "Practitioner/example", "patientId": "mCODEPatientExample01"}}
    response = call(base, "guidekg-patient-view", body)
    assert response.status_code == 200, response.text
    cards = check_cards(response.json())
    assert cards and "out of scope" in cards[0]["summary"] and cards[0]["indicator"] == "warning"


def test_genomics_variant_without_subject_in_prefetch_is_survived(base):
    items = resources(EXAMPLES / "EX03-kras-mutant-fit.json")
    body = order_request("EX03-kras-mutant-fit", [cetuximab_order("EX03-kras-mutant-fit")])
    body["prefetch"]["observations"]["entry"].append({"resource": json.loads(SNV.read_text())})
    assert items
    response = call(base, "guidekg-order-sign", body)
    assert response.status_code == 200, response.text
    assert [c["indicator"] for c in check_cards(response.json()) if "cetuximab" in c["summary"]] == ["critical"]


def test_unreachable_fhir_server_with_partial_prefetch_gives_a_warning_card(base):
    body = order_request("EX03-kras-mutant-fit", [cetuximab_order("EX03-kras-mutant-fit")])
    body["prefetch"] = {"patient": body["prefetch"]["patient"], "conditions": body["prefetch"]["conditions"]}
    body.update(fhirServer=CLOSED, fhirAuthorization={"access_token": TOKEN, "token_type": "Bearer", "expires_in": 300,
                                                      "scope": "patient/*.read", "subject": "guidekg"})
    response = call(base, "guidekg-order-sign", body, timeout=60)
    assert response.status_code == 200, response.text
    cards = check_cards(response.json())
    assert cards[0]["indicator"] == "warning" and "could not be read" in cards[0]["summary"]
    assert "observations" in cards[0]["detail"]


def test_unlisted_fhir_server_is_not_contacted_and_no_data_is_412(base, fhir):
    before = len(fhir.requests)
    body = {"hook": "patient-view", "hookInstance": str(uuid.uuid4()), "fhirServer": fhir.base.replace("/fhir", "/nothing"),
            "context": {"userId": "Practitioner/example", "patientId": "EX03-kras-mutant-fit"}}
    response = call(base, "guidekg-patient-view", body)
    assert response.status_code == 412 and "may not contact" in response.json()["error"]
    assert len(fhir.requests) == before


def test_unreachable_fhir_server_and_no_prefetch_is_412(base):
    body = {"hook": "patient-view", "hookInstance": str(uuid.uuid4()), "fhirServer": CLOSED,
            "context": {"userId": "Practitioner/example", "patientId": "EX03-kras-mutant-fit"}}
    response = call(base, "guidekg-patient-view", body, timeout=60)
    assert response.status_code == 412 and "could not be read" in response.json()["error"]


def test_spec_example_request_contacts_no_foreign_host(base, fhir):
    """The spec's patient-view example (fhirServer on a foreign host, no matching prefetch): 412, nothing fetched."""
    body = {"hookInstance": "d1577c69-dfbe-44ad-ba6d-3e05e953b2ea", "fhirServer": "http://hooks.smarthealthit.org:9080",
            "hook": "patient-view",
            "fhirAuthorization": {"access_token": "some-opaque-fhir-access-token", "token_type": "Bearer", "expires_in": 300,
                                  "scope": "patient/Patient.read patient/Observation.read", "subject": "cds-service4"},
            "context": {"userId": "Practitioner/example", "patientId": "1288992", "encounterId": "89284"},
            "prefetch": {"patientToGreet": {"resourceType": "Patient", "gender": "male", "birthDate": "1925-12-23",
                                            "id": "1288992", "active": True}}}
    response = call(base, "guidekg-patient-view", body)
    assert response.status_code == 412
    assert "hooks.smarthealthit.org" in response.json()["error"]


@pytest.mark.parametrize("mutate, status", [
    (lambda b: b.pop("context"), 400),
    (lambda b: b["context"].pop("patientId"), 400),
    (lambda b: b.update(hook="patient-view"), 400),
    (lambda b: b.pop("hookInstance"), 400),
    (lambda b: b["context"].update(draftOrders={"resourceType": "MedicationRequest"}), 400),
    (lambda b: b["context"].update(draftOrders={"resourceType": "Bundle", "entry": {"resource": {}}}), 400),
    (lambda b: b["context"].update(draftOrders={"resourceType": "Bundle", "entry": [{"fullUrl": "x"}]}), 400),
    (lambda b: b["context"].update(draftOrders="MedicationRequest/1"), 400),
    (lambda b: b["context"].update(patientId="../../etc/passwd"), 400),
    (lambda b: b["context"].update(patientId=".."), 400),
    (lambda b: b.update(prefetch=["not", "an", "object"]), 400),
    (lambda b: b.update(fhirAuthorization={"access_token": "x"}), 400),
])
def test_bad_requests_are_4xx_and_the_server_stays_up(base, mutate, status):
    body = order_request("EX03-kras-mutant-fit", [cetuximab_order("EX03-kras-mutant-fit")])
    mutate(body)
    response = call(base, "guidekg-order-sign", body)
    assert response.status_code == status, response.text
    assert response.json()["error"]
    assert httpx.get(f"{base}/cds-services").status_code == 200


@pytest.mark.parametrize("raw", [b"not json", b"[]", b"{" * 100_000, json.dumps({"hook": "order-sign"}).encode()])
def test_unreadable_bodies_are_400(base, raw):
    assert call(base, "guidekg-order-sign", raw).status_code == 400


def test_mutated_requests_never_get_a_server_error(base):
    """Valid order-sign requests with values swapped for ill-typed ones: 200 (with cards), 400 or 412, never 5xx."""
    import copy
    import random

    rng = random.Random(14)
    odd = [None, "x", 12, [], {}, {"resourceType": "Bundle"}, {"resourceType": "Observation"}, {"coding": "x"}, True, -1,
           "2026-13-45", {"reference": 5}]
    valid = order_request("EX03-kras-mutant-fit", [cetuximab_order("EX03-kras-mutant-fit")])
    for _ in range(40):
        body = copy.deepcopy(valid)
        slots = [(container, key) for path, container in walk(body) if isinstance(container, dict | list)
                 for key in (container if isinstance(container, dict) else range(len(container)))]
        for _ in range(3):
            container, key = rng.choice(slots)
            container[key] = rng.choice(odd)
        response = call(base, "guidekg-order-sign", body)
        assert response.status_code in (200, 400, 412), response.text
        if response.status_code == 200:
            check_cards(response.json())
    assert httpx.get(f"{base}/cds-services").status_code == 200


def test_unknown_service_is_404(base):
    assert call(base, "nope", {}).status_code == 404


def test_feedback_is_recorded_and_malformed_feedback_is_400(base):
    accepted = {"feedback": [{"card": str(uuid.uuid4()), "outcome": "accepted", "outcomeTimestamp": "2026-11-30T08:00:00Z",
                              "acceptedSuggestions": [{"id": str(uuid.uuid4())}]}]}
    overridden = {"feedback": [{"card": str(uuid.uuid4()), "outcome": "overridden", "outcomeTimestamp": "2026-11-30T08:00:00Z",
                                "overrideReason": {"reason": {"system": "https://w3id.org/guidekg/CodeSystem/cds-override-reason",
                                                              "code": "mdt-decision", "display": "Decided otherwise at the MDT"},
                                                   "userComment": "discussed on Tuesday"}}]}
    for body in (accepted, overridden):
        response = httpx.post(f"{base}/cds-services/guidekg-order-sign/feedback", json=body)
        assert response.status_code == 200 and response.json() == {"recorded": 1}
    bad = [b"nope", {"feedback": []}, {"feedback": [{"outcome": "accepted"}]},
           {"feedback": [{"card": "c", "outcome": "maybe", "outcomeTimestamp": "2026-11-30T08:00:00Z"}]},
           {"feedback": [{"card": "c", "outcome": "overridden", "outcomeTimestamp": "yesterday"}]},
           {"feedback": [{"card": "c", "outcome": "accepted", "outcomeTimestamp": "2026-11-30T08:00:00Z"}]}]
    for body in bad:
        content = body if isinstance(body, bytes) else json.dumps(body).encode()
        response = httpx.post(f"{base}/cds-services/guidekg-order-sign/feedback", content=content,
                              headers={"Content-Type": "application/json"})
        assert response.status_code == 400, body


def test_host_allow_list_guards_cds(base):
    response = httpx.get(f"{base}/cds-services", headers={"Host": "attacker.example"})
    assert response.status_code == 421
