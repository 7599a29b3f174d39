"""Per-patient FHIR pieces of ``--format fhir``: actions, orders, detected issues, output parameters.

Why each shape:
- a RequestGroup action carries one ``code`` concept per action it names (cetuximab and panitumumab
  are two concepts, never two codings of one), and "do not" is machine-readable as the CPG-on-FHIR IG
  does it: the action's ``resource`` is a request with ``doNotPerform: true`` (the definition it
  instantiates is an ActivityDefinition with ``doNotPerform: true``, see :mod:`.fhir_knowledge`);
- each planned or current action of the record (``plan`` in the JSON, ARCHITECTURE §5.1, or the
  record's planned actions and current regimen when no plan is given) becomes a MedicationRequest /
  MedicationStatement / ServiceRequest, so a DetectedIssue can name it in ``implicated``: the orders
  whose plan entry names the alert as its rule, and the orders for an action the alert is about
  (``queries/fhir_alert_actions.rq``); an unsafe verdict (contraindicated, not-recommended) that no
  alert already covers gets its own DetectedIssue;
- the headline and the plan verdicts travel in a Parameters resource (``GuidanceResponse.outputParameters``).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ..ingest.fhir_map import CODESYSTEM_URL, FhirMapping
from ..knowledge import knowledge
from ..model import PatientRecord
from ..namespaces import GK, expand
from ..vocabulary import vocabulary
from .fhir_issues import SEVERITY, UNSAFE_VERDICTS, alert_actions, alert_code, issue_concept, plan_alert
from .fhir_knowledge import RXNORM, Action, actions_of, citations
from .fhir_patient import systemic_actions

Add = Callable[[dict[str, Any]], str]


def _is_drug(codes: list[dict[str, str]], m: FhirMapping) -> bool:
    systemic = systemic_actions()
    return any(c["system"] == RXNORM or (c["system"] == CODESYSTEM_URL and m.concept_of.get(c["code"]) in systemic)
               for c in codes)


def _codes_of(individual: str, m: FhirMapping) -> list[dict[str, str]]:
    drug = [r for r in m.rules if r.slot == "medication" and r.individual == individual]
    if drug:
        return [{"system": drug[0].system, "code": drug[0].code}]
    code = m.code_of.get(individual)
    return [{"system": CODESYSTEM_URL, "code": code}] if code else []


def _individual_of(item: dict[str, Any], m: FhirMapping) -> str | None:
    for c in item.get("codes") or []:
        if c["system"] == CODESYSTEM_URL and c["code"] in m.concept_of:
            return m.concept_of[c["code"]]
        drug = [r for r in m.rules if r.slot == "medication" and r.system == c["system"] and r.code == c["code"]]
        if drug:
            return drug[0].individual
    return vocabulary().actions.get(str(item.get("action") or "").strip().lower())


def orders(plan: list[dict[str, Any]], record: PatientRecord, m: FhirMapping) -> list[dict[str, Any]]:
    """What the patient is planned to get or gets now: the JSON ``plan`` if present, else the record's
    planned actions and current regimen (no verdict then). Each entry knows its action individual."""
    if plan:
        out = []
        for item in plan:
            individual = _individual_of(item, m)
            codes = item.get("codes") or (_codes_of(individual, m) if individual else [])
            out.append(dict(item, individual=individual, codes=codes, alert=plan_alert(item)))
        return out
    out = []
    for prop, source in ((GK.plannedAction, "planned"), (GK.currentRegimen, "current")):
        for value in record.values(str(prop)):
            iri = str(value)
            out.append({"action": knowledge().label(iri) or iri.rsplit("#", 1)[-1], "from": source,
                        "codes": _codes_of(iri, m), "individual": iri})
    return out


def plan_request(item: dict[str, Any], rid: str, subject: dict[str, Any], m: FhirMapping) -> dict[str, Any]:
    """The order (planned) or statement (current) a plan entry stands for, with its codes."""
    codes = item.get("codes") or []
    concept: dict[str, Any] = {"text": item.get("action") or "unnamed action"}
    if codes:
        concept["coding"] = [{"system": c["system"], "code": c["code"]} for c in codes]
    drug = _is_drug(codes, m)
    if item.get("from") == "current" and drug:
        return {"resourceType": "MedicationStatement", "id": rid, "status": "active", "subject": subject,
                "medicationCodeableConcept": concept}
    if drug:
        return {"resourceType": "MedicationRequest", "id": rid, "status": "active", "intent": "plan",
                "subject": subject, "medicationCodeableConcept": concept}
    return {"resourceType": "ServiceRequest", "id": rid, "status": "active", "intent": "plan", "subject": subject,
            "code": concept}


def _prohibition(action: Action, rid: str, subject: dict[str, Any]) -> dict[str, Any]:
    """A proposal not to do ``action`` (CPG: a request with doNotPerform, from a doNotPerform definition)."""
    common = {"id": rid, "status": "draft", "intent": "proposal", "doNotPerform": True, "subject": subject,
              "instantiatesCanonical": [action.activity_url]}
    if action.kind == "MedicationRequest":
        return {"resourceType": "MedicationRequest", **common, "medicationCodeableConcept": action.concept()}
    return {"resourceType": "ServiceRequest", **common, "code": action.concept()}


def recommendation_action(rec: dict[str, Any], rid: str, subject: dict[str, Any], add: Add) -> dict[str, Any]:
    """One RequestGroup action for one recommendation."""
    parts = actions_of(rec["id"])
    action: dict[str, Any] = {"id": expand(rec["id"]).rsplit("#", 1)[-1], "title": rec.get("title") or rec["id"],
                              "description": rec.get("label") or rec["id"],
                              "documentation": [{"type": "derived-from", "label": rec["id"], "url": expand(rec["id"])},
                                                *citations(rec.get("evidence") or [])]}
    if rec.get("category"):
        action["prefix"] = rec["category"]
    if parts:
        action["code"] = [a.concept() for a in parts]
    else:  # not in the packaged ontology (e.g. a hand-built result): each code its own concept
        codes = (rec.get("action") or {}).get("codes") or []
        if codes:
            action["code"] = [{"coding": [{"system": c["system"], "code": c["code"]}]} for c in codes]
    avoided = [a for a in parts if a.avoid]
    if avoided:
        action["textEquivalent"] = "Do not: " + "; ".join(a.label for a in avoided)
        refs = [add(_prohibition(a, f"{rid}-donot{k + 1}", subject)) for k, a in enumerate(avoided)]
        if len(refs) == 1:
            action["resource"] = {"reference": refs[0]}
        else:
            action["action"] = [{"title": f"Do not: {a.label}", "code": [a.concept()], "resource": {"reference": ref}}
                                for a, ref in zip(avoided, refs, strict=True)]
    return action


def detected_issues(alerts: list[dict[str, Any]], plan: list[dict[str, Any]], base: str, subject: dict[str, Any],
                    add: Add) -> list[str]:
    """A DetectedIssue per alert, and per unsafe plan verdict no alert covers; returns their URLs."""
    urls: list[str] = []
    covered: set[int] = set()
    judged = any(item.get("verdict") for item in plan)
    for k, alert in enumerate(alerts):
        iri = expand(alert["id"])
        if judged:  # the plan says which rule judged each order, and so which alert it raised
            implicated = [i for i, item in enumerate(plan)
                          if item.get("alert") == iri and item.get("verdict") not in ("recommended", "consistent")]
            covered.update(implicated)
        else:  # no verdicts: the orders for the actions the alert is about
            about = alert_actions().get(iri, frozenset())
            implicated = [i for i, item in enumerate(plan) if item.get("individual") in about]
        issue = {"resourceType": "DetectedIssue", "id": f"{base}-issue{k + 1}", "status": "final",
                 "code": issue_concept(alert_code(alert["id"]), alert.get("label")),
                 "severity": SEVERITY.get(alert.get("severity", ""), "moderate"), "patient": subject,
                 "detail": alert.get("message") or alert["id"], "reference": expand(alert["id"])}
        if implicated:
            issue["implicated"] = [{"reference": plan[i]["request"]} for i in implicated]
        urls.append(add(issue))
    for i, item in enumerate(plan):
        verdict = item.get("verdict")
        if i in covered or verdict not in UNSAFE_VERDICTS:
            continue
        issue = {"resourceType": "DetectedIssue", "id": f"{base}-plan{i + 1}-issue", "status": "final",
                 "code": issue_concept(f"plan-{verdict}", f"{item.get('action')}: {verdict}"),
                 "severity": "high" if verdict == "contraindicated" else "moderate", "patient": subject,
                 "implicated": [{"reference": item["request"]}],
                 "detail": item.get("reason") or f"{item.get('action')} is {verdict} for this patient"}
        if item.get("rule"):
            issue["reference"] = expand(item["rule"])
        urls.append(add(issue))
    return urls


def _part(name: str, **value: Any) -> dict[str, Any]:
    return {"name": name, **value}


def output_parameters(data: dict[str, Any], classes: list[str], plan: list[dict[str, Any]], rid: str) -> dict[str, Any]:
    """The headline, the treatment classes and the plan verdicts as a Parameters resource."""
    params: list[dict[str, Any]] = []
    headline = data.get("headline") or {}
    if headline.get("text"):
        params.append(_part("headline", valueString=headline["text"]))
    first = headline.get("first_line")
    if first:
        params.append(_part("first-line", part=[_part("class", valueUri=expand(first["class"])),
                                                _part("label", valueString=first.get("label") or first["class"])]))
    for step in headline.get("next_steps") or []:
        params.append(_part("next-step", part=[_part("id", valueUri=expand(step["id"])),
                                               _part("label", valueString=step.get("label") or step["id"])]))
    params += [_part("missing", valueString=fact) for fact in headline.get("missing") or []]
    params += [_part("treatment-class", valueUri=expand(c)) for c in classes]
    for item in plan:
        parts = [_part("action", valueString=item.get("action") or "unnamed action"), _part("from", valueCode=item.get("from") or "planned"),
                 _part("verdict", valueCode=item.get("verdict") or "not-addressed")]
        if item.get("reason"):
            parts.append(_part("reason", valueString=item["reason"]))
        if item.get("rule"):
            parts.append(_part("rule", valueUri=expand(item["rule"])))
        parts += [_part("code", valueCoding={"system": c["system"], "code": c["code"]}) for c in item.get("codes") or []]
        parts.append(_part("request", valueReference={"reference": item["request"]}))
        params.append(_part("plan", part=parts))
    return {"resourceType": "Parameters", "id": rid, "parameter": params}


__all__ = ["orders", "plan_request", "recommendation_action", "detected_issues", "output_parameters"]
