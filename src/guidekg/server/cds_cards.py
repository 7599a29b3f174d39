"""CDS Hooks cards from one patient's assessment (the ARCHITECTURE §5.1 JSON).

Nothing clinical is decided here: the verdict of each draft order, the alerts and the headline
come from the decision layer; this module only chooses how to show them (CDS Hooks 2.0
"CDS Service Response": ``indicator`` info|warning|critical, ``source``, ``links``,
``suggestions`` of create/delete actions, ``selectionBehavior``, ``overrideReasons``).

Indicator per plan verdict (§5.1: contraindicated raises a violation, not-recommended and
needs-data a warning, not-addressed an info): contraindicated -> critical; not-recommended,
needs-data -> warning; not-addressed -> info; recommended and consistent -> no card.

A replacement suggestion is derived from the patient's own recommendations: the actions the
guideline proposes for this patient now in the same category as the offending order (e.g.
bevacizumab for a RAS-mutant patient in place of cetuximab), with their codes read from the
ontology (the plan tables), never from a drug list in code.
"""

from __future__ import annotations

import csv
import uuid
from importlib import resources as importlib_resources
from typing import Any

from ..namespaces import curie, expand

SUMMARY_MAX = 139  # "One-sentence, <140-character summary"
INDICATOR = {"contraindicated": "critical", "not-recommended": "warning", "needs-data": "warning", "not-addressed": "info"}
ALERT_INDICATOR = {"violation": "critical", "warning": "warning", "info": "info"}
SOURCE = {"label": "guidekg: stage IV rectal cancer with non-resectable bilobar liver metastases"}


def override_reasons() -> list[dict[str, str]]:
    """The override reasons offered on order cards (data file beside this module)."""
    text = importlib_resources.files("guidekg.server").joinpath("cds_override_reasons.csv").read_text(encoding="utf-8")
    return [{"system": r["system"], "code": r["code"], "display": r["display"]} for r in csv.DictReader(text.splitlines())]


def summary(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= SUMMARY_MAX else text[: SUMMARY_MAX - 1].rstrip() + "…"


def evidence_links(evidence: list[dict[str, Any]]) -> list[dict[str, str]]:
    """One absolute link per DOI and PMID of the evidence (several may share one source)."""
    links: list[dict[str, str]] = []
    for item in evidence:
        short = " ".join((item.get("citation") or item.get("id") or "").split())[:80]
        for doi in (item.get("doi") or "").split():
            links.append({"label": f"DOI {doi}: {short}", "url": f"https://doi.org/{doi}", "type": "absolute"})
        for pmid in (item.get("pmid") or "").split():
            links.append({"label": f"PubMed {pmid}: {short}", "url": f"https://pubmed.ncbi.nlm.nih.gov/{pmid}/", "type": "absolute"})
    seen, out = set(), []
    for link in links:
        if link["url"] not in seen:
            seen.add(link["url"])
            out.append(link)
    return out


def card(summary_text: str, indicator: str, detail: str | None = None, links: list[dict[str, str]] | None = None,
         **extra: Any) -> dict[str, Any]:
    out: dict[str, Any] = {"uuid": str(uuid.uuid4()), "summary": summary(summary_text), "indicator": indicator,
                           "source": dict(SOURCE)}
    if detail:
        out["detail"] = detail
    if links:
        out["links"] = links
    out.update({k: v for k, v in extra.items() if v})
    return out


def _bullets(items: list[str]) -> str:
    return "\n".join(f"- {i}" for i in items)


def status_card(result: dict[str, Any], page: dict[str, str]) -> dict[str, Any] | None:
    """An explanatory card when the record could not be assessed (invalid or contradictory)."""
    if result["status"] == "invalid":
        # Violations first: they are why the record cannot be assessed; warnings and notes follow.
        ordered = sorted(result.get("validation", []), key=lambda v: v.get("severity") != "violation")
        findings = [f"{v.get('message')}" + (f" ({v['path']})" if v.get("path") else "") for v in ordered]
        return card("guidekg cannot assess this patient: " + (findings[0] if findings else "invalid record"), "warning",
                    "No guideline advice was computed because the record is invalid:\n\n" + _bullets(findings or ["invalid record"]),
                    [page])
    if result["status"] == "contradictory":
        return card("The record is contradictory: resolve the conflicting facts before relying on guideline advice", "warning",
                    "Conflicting facts:\n\n" + _bullets(result.get("conflicts") or ["(not named)"]), [page])
    return None


def headline_cards(result: dict[str, Any], page: dict[str, str]) -> list[dict[str, Any]]:
    """patient-view: the headline (first line, next step, missing data) and one card per alert."""
    headline = result.get("headline") or {}
    cards = []
    explained = status_card(result, page)
    if explained:
        cards.append(explained)
    if result["status"] != "invalid":
        first = headline.get("first_line")
        steps = [s["label"] for s in headline.get("next_steps") or []]
        detail = [f"**First line:** {first['label']}" if first else "**First line:** no first-line choice at this stage"]
        if steps:
            detail.append("**Next steps:**\n\n" + _bullets(steps))
        if headline.get("missing"):
            detail.append("**Missing data:**\n\n" + _bullets(headline["missing"]))
        recs = [r for r in result.get("recommendations", []) if first and first["class"] in r.get("classes", [])]
        cards.append(card(headline.get("text") or "guideline assessment", "info", "\n\n".join(detail),
                          evidence_links([e for r in recs for e in r.get("evidence", [])]) + [page]))
        if headline.get("missing"):
            cards.append(card("Missing data: " + ", ".join(headline["missing"]), "warning",
                              "The guideline needs these facts for this patient and the record lacks them:\n\n"
                              + _bullets(headline["missing"]), [page]))
    for alert in result.get("alerts", []):
        details = alert.get("details") or []
        text = alert.get("message") or alert.get("label") or alert["id"]
        cards.append(card(alert.get("label") or text, ALERT_INDICATOR.get(alert.get("severity"), "info"),
                          text + ("\n\n" + _bullets(details) if details else ""),
                          evidence_links(alert.get("evidence", [])) + [page]))
    return cards


def order_actions(order: dict[str, Any], mapping, known: set[str]) -> list[str]:
    """Guideline action IRIs a draft order names (the FHIR ingest's mapping, as for any MedicationRequest)."""
    concept = order.get("medicationCodeableConcept") if order.get("resourceType") == "MedicationRequest" else order.get("code")
    codings = concept.get("coding") if isinstance(concept, dict) else None
    found: list[str] = []
    for coding in codings if isinstance(codings, list) else []:
        if not isinstance(coding, dict) or not isinstance(coding.get("system"), str) or not isinstance(coding.get("code"), str):
            continue
        system, code = mapping.system(coding["system"]), coding["code"]
        for slot in ("medication", "procedure"):
            found += [r.individual for r in mapping.lookup(slot, system, code)]
        target = mapping.project(system, code)
        if target:
            found.append(target)
    return [a for a in dict.fromkeys(found) if a in known]


def _written(tables, action: str) -> str:
    return tables.written.get(action) or tables.labels.get(action) or curie(action)


def alternatives(tables, result: dict[str, Any], actions: list[str], order: dict[str, Any],
                 ordered: set[str] = frozenset()) -> list[str]:
    """Actions recommended for this patient now in the offending actions' categories, orderable as ``order`` is,
    less those already ordered or planned (``ordered``: their written names)."""
    categories = set().union(*(tables.categories.get(a, frozenset()) for a in actions)) if actions else set()
    systems = {c.get("system") for c in _codings(order)}
    out: list[str] = []
    for rec in result.get("recommendations", []):
        item = tables.items.get(expand(rec["id"]))
        if item is None or not item.proposes or item.category not in categories:
            continue
        for action in sorted(item.actions):
            codes = tables.codes.get(action, [])
            if action not in actions and action not in out and _written(tables, action) not in ordered \
                    and any(c["system"] in systems for c in codes):
                out.append(action)
    return out


def _codings(order: dict[str, Any]) -> list[dict[str, Any]]:
    concept = order.get("medicationCodeableConcept") if order.get("resourceType") == "MedicationRequest" else order.get("code")
    codings = concept.get("coding") if isinstance(concept, dict) else None
    return [c for c in codings if isinstance(c, dict)] if isinstance(codings, list) else []


def replacement(tables, order: dict[str, Any], action: str, patient: str) -> dict[str, Any]:
    """A new draft order of the same kind for ``action``, coded as the ontology codes it."""
    label = tables.labels.get(action) or _written(tables, action)
    concept = {"coding": [dict(c, display=label) for c in tables.codes.get(action, [])], "text": label}
    resource: dict[str, Any] = {"resourceType": order["resourceType"], "status": "draft",
                                "intent": order.get("intent") if isinstance(order.get("intent"), str) else "proposal",
                                "subject": {"reference": f"Patient/{patient}"}}
    resource["medicationCodeableConcept" if order["resourceType"] == "MedicationRequest" else "code"] = concept
    return resource


def order_cards(tables, mapping, result: dict[str, Any], orders: list[dict[str, Any]], patient: str,
                page: dict[str, str]) -> list[dict[str, Any]]:
    """order-select/order-sign: one card per draft order whose verdict is not recommended/consistent."""
    explained = status_card(result, page)
    if explained is not None and result["status"] == "invalid":
        explained["summary"] = summary("The draft orders cannot be judged: " + explained["summary"])
        return [explained]
    cards = [explained] if explained else []
    known = set(tables.types)
    planned = [p for p in result.get("plan", []) if p.get("from") == "planned"]
    for order in orders:
        actions = order_actions(order, mapping, known)
        names = {_written(tables, a) for a in actions}
        entries = [p for p in planned if p["action"] in names]
        worst = sorted(entries, key=lambda p: list(INDICATOR).index(p["verdict"]) if p["verdict"] in INDICATOR else 99)
        if not worst or worst[0]["verdict"] not in INDICATOR:
            continue
        entry = worst[0]
        indicator = INDICATOR[entry["verdict"]]
        reference = f"{order['resourceType']}/{order.get('id')}"
        name = entry["action"]
        alerts = [a for a in result.get("alerts", []) if a.get("label") == entry["reason"]
                  or any(str(d).startswith(f"{name} (planned)") for d in a.get("details") or [])]
        detail = f"**{name}: {entry['verdict']}.** {entry['reason']}."
        detail += "".join(f"\n\n{a['message']}" for a in alerts if a.get("message"))
        if result.get("headline", {}).get("first_line"):
            detail += f"\n\nFirst line for this patient: {result['headline']['first_line']['label']}."
        suggestions: list[dict[str, Any]] = []
        if indicator != "info" and order.get("id"):
            delete = {"type": "delete", "description": f"Remove the draft order for {name}", "resourceId": reference}
            ordered = {p["action"] for p in result.get("plan", []) if p["action"] not in names}
            for other in alternatives(tables, result, actions, order, ordered):
                label = tables.labels.get(other) or _written(tables, other)
                suggestions.append({"label": f"Replace {name} with {label}", "uuid": str(uuid.uuid4()), "isRecommended": True,
                                    "actions": [delete, {"type": "create", "description": f"Order {label} instead",
                                                         "resource": replacement(tables, order, other, patient)}]})
            suggestions.append({"label": f"Remove the {name} order", "uuid": str(uuid.uuid4()), "actions": [delete]})
        verb = {"critical": "is contraindicated", "warning": "is " + entry["verdict"].replace("-", " "), "info": "is not addressed by the guideline"}
        cards.append(card(f"{name} {verb[indicator]} for this patient: {entry['reason']}", indicator, detail,
                          evidence_links(entry.get("evidence", [])) + [page],
                          suggestions=suggestions, selectionBehavior="at-most-one" if suggestions else None,
                          overrideReasons=override_reasons() if indicator != "info" else None))
    return cards
