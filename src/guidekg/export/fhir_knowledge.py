"""The guideline as FHIR knowledge artifacts (CPG-on-FHIR style), generated from the ontology.

Why: a patient's GuidanceResponse and RequestGroup should say which published logic produced them
(``moduleCanonical``, ``instantiatesCanonical``), and a receiver should be able to read that logic.
:func:`knowledge_bundle` writes

- a **Library** for the ontology (every packaged module as a ``text/turtle`` attachment, with hash);
- a **PlanDefinition** with one action per recommendation or amendment: its title and text, its
  category (``prefix``), its strength (``cqf-strengthOfRecommendation``), its citations (one
  ``relatedArtifact`` per DOI or PubMed id), one ``code`` concept per action (each drug its own concept)
  and the applicability condition: the OWL class(es) that trigger it (FHIRPath over the inferred
  classes, the class IRI as ``reference`` and the class definition as ``description``);
- an **ActivityDefinition** per action, ``doNotPerform: true`` for an action the guideline says
  not to do (the CPG IG's way of making "do not" machine-readable; the action's ``definitionCanonical``
  points at it);
- the project **CodeSystems** (patient facts, and DetectedIssue codes).

Everything comes from ``queries/fhir_plan_actions.rq``, ``item_actions.rq`` and ``item_evidence.rq``.
"""

from __future__ import annotations

import base64
import hashlib
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from rdflib import URIRef

from .. import resources
from ..ingest.fhir_map import CODESYSTEM_URL, fhir_mapping
from ..knowledge import knowledge, prepared
from ..namespaces import curie, expand
from .fhir_issues import DETECTED_ISSUE_URL, detected_issue_codesystem
from .fhir_patient import PUBLISHER, codesystem_resource, full_url, systemic_actions, validated

BASE = "https://w3id.org/guidekg/fhir"
PLAN_URL = f"{BASE}/PlanDefinition/guideline"
LIBRARY_URL = f"{BASE}/Library/ontology"
RXNORM = "http://www.nlm.nih.gov/research/umls/rxnorm"
STRENGTH_EXT = "http://hl7.org/fhir/StructureDefinition/cqf-strengthOfRecommendation"


@dataclass(frozen=True)
class Action:
    """One action individual a recommendation names, with all its codes (one concept: one drug/procedure)."""

    iri: str
    label: str
    codings: tuple[tuple[str, str], ...]
    avoid: bool

    @property
    def local(self) -> str:
        return self.iri.rsplit("#", 1)[-1]

    def concept(self) -> dict[str, Any]:
        codings = [{"system": s, "code": c} for s, c in self.codings]
        if not codings:
            code = fhir_mapping().code_of.get(self.iri)
            if code:
                codings = [{"system": CODESYSTEM_URL, "code": code, "display": fhir_mapping().labels.get(code, code)}]
        return {"coding": codings, "text": self.label} if codings else {"text": self.label}

    @property
    def kind(self) -> str:
        drug = any(s == RXNORM for s, _ in self.codings) or self.iri in systemic_actions()
        return "MedicationRequest" if drug else "ServiceRequest"

    @property
    def activity_id(self) -> str:
        return f"{'do-not-' if self.avoid else ''}{self.local}"[:64]

    @property
    def activity_url(self) -> str:
        return f"{BASE}/ActivityDefinition/{self.activity_id}"


@lru_cache(maxsize=256)
def actions_of(item: str) -> tuple[Action, ...]:
    """The actions of a recommendation (CURIE or IRI), grouped by action individual."""
    rows = knowledge().graph.query(prepared("item_actions"), initBindings={"item": URIRef(expand(item))})
    grouped: dict[str, dict[str, Any]] = {}
    for row in rows:
        entry = grouped.setdefault(str(row.action), {"label": str(row.label or curie(str(row.action))), "codes": [],
                                                     "avoid": False})
        entry["avoid"] |= str(row.intent or "") == "avoid"
        if row.code is not None and (str(row.system), str(row.code)) not in entry["codes"]:
            entry["codes"].append((str(row.system), str(row.code)))
    return tuple(Action(iri, e["label"], tuple(e["codes"]), e["avoid"]) for iri, e in grouped.items())


def citations(evidence: list[dict[str, Any]] | tuple[dict[str, Any], ...]) -> list[dict[str, Any]]:
    """One ``citation`` RelatedArtifact per DOI (or PubMed id when a source has no DOI).

    A source may cover several papers (a trial and its final analysis): the JSON gives their DOIs
    space-separated, and a RelatedArtifact.url holds exactly one URL.
    """
    out: list[dict[str, Any]] = []
    seen: set[str] = set()
    for ev in evidence:
        text = ev.get("citation") or ev.get("id")
        dois = (ev.get("doi") or "").split()
        pmids = (ev.get("pmid") or "").split()
        urls = [f"https://doi.org/{d}" for d in dois] or [f"https://pubmed.ncbi.nlm.nih.gov/{p}/" for p in pmids]
        for url in urls or [None]:
            key = f"{ev.get('id')}|{url}"
            if key in seen:
                continue
            seen.add(key)
            artifact: dict[str, Any] = {"type": "citation", "label": ev.get("id"), "citation": text}
            if url:
                artifact["url"] = url
            out.append(artifact)
    return out


def _condition(triggers: list[tuple[str, str | None, str | None]]) -> dict[str, Any]:
    """The applicability condition: the patient is in (one of) the OWL classes that trigger the action.

    The R4 schema allows only CQL, FHIRPath or FHIR query as the language. Membership of an OWL class
    is decided by the reasoner, so the expression is FHIRPath over the environment variable
    ``%guidekgClasses`` (the class IRIs inferred for the patient; FHIRPath lets an engine supply
    variables), the class IRI is the ``reference`` and its definition the ``description``.
    """
    test = " or ".join(f"%guidekgClasses contains '{c}'" for c, _, _ in triggers)
    described = [f"{label or curie(c)} <{c}>" + (f": {definition}" if definition else "") for c, label, definition in triggers]
    expression: dict[str, Any] = {"language": "text/fhirpath", "expression": test,
                                  "description": "Patient inferred to be in " + "; or in ".join(described)}
    if len(triggers) == 1:
        expression["reference"] = triggers[0][0]
    return {"kind": "applicability", "expression": expression}


def _plan_rows() -> dict[str, dict[str, Any]]:
    recs: dict[str, dict[str, Any]] = {}
    for row in knowledge().graph.query(prepared("fhir_plan_actions")):
        rec = recs.setdefault(str(row.rec), {"label": row.label, "text": row.text, "category": row.category,
                                             "strength": row.strength, "triggers": []})
        trigger = (str(row["class"]), str(row.class_label) if row.class_label else None,
                   str(row.class_definition) if row.class_definition else None)
        if trigger not in rec["triggers"]:
            rec["triggers"].append(trigger)
    return recs


def plan_definition() -> dict[str, Any]:
    """The guideline as one PlanDefinition (type clinical-protocol), one action per recommendation."""
    kb = knowledge()
    actions = []
    for rec, row in _plan_rows().items():
        local = rec.rsplit("#", 1)[-1]
        action: dict[str, Any] = {"id": local, "title": str(row["label"] or local)}
        if row["text"]:
            action["description"] = str(row["text"])
        if row["category"]:
            action["prefix"] = str(row["category"])
        if row["strength"]:
            action["extension"] = [{"url": STRENGTH_EXT, "valueCodeableConcept": {"text": str(row["strength"])}}]
        parts = actions_of(rec)
        if parts:
            action["code"] = [a.concept() for a in parts]
        docs = [{"type": "derived-from", "label": curie(rec), "url": rec}] + citations(kb.evidence(rec))
        action["documentation"] = docs
        action["condition"] = [_condition(row["triggers"])]
        if len(parts) == 1:
            action["definitionCanonical"] = parts[0].activity_url
        elif parts:
            action["action"] = [{"title": ("Do not: " if a.avoid else "") + a.label, "code": [a.concept()],
                                 "definitionCanonical": a.activity_url} for a in parts]
        actions.append(action)
    return {"resourceType": "PlanDefinition", "id": "guideline", "meta": shareable("PlanDefinition"),
            "url": PLAN_URL, "version": _version(), "publisher": PUBLISHER,
            "name": "GuidekgRectalCancerLiverMetastases",
            "title": "Rectal cancer with non-resectable bilobar liver metastases (guidekg)",
            "type": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/plan-definition-type",
                                 "code": "clinical-protocol"}]},
            "status": "active", "experimental": True,
            "description": "Generated from the guidekg ontology: one action per recommendation or amendment, "
                           "applicable when the patient is a member of the OWL class(es) that trigger it.",
            "library": [LIBRARY_URL], "action": actions}


def activity_definitions() -> list[dict[str, Any]]:
    """One ActivityDefinition per (action, perform/avoid) the PlanDefinition names."""
    seen: dict[str, Action] = {}
    for rec in _plan_rows():
        for a in actions_of(rec):
            seen.setdefault(a.activity_id, a)
    out = []
    for a in sorted(seen.values(), key=lambda a: a.activity_id):
        out.append({"resourceType": "ActivityDefinition", "id": a.activity_id, "meta": shareable("ActivityDefinition"),
                    "url": a.activity_url, "version": _version(), "publisher": PUBLISHER,
                    "name": "".join(ch for ch in a.activity_id.title() if ch.isalnum())[:255],
                    "title": ("Do not: " if a.avoid else "") + a.label, "status": "active", "experimental": True,
                    "description": (f"Do not perform: {a.label}" if a.avoid else f"Perform: {a.label}")
                                   + " (an action named by the guidekg guideline's recommendations).",
                    "kind": a.kind, "code": a.concept(), "intent": "proposal", "doNotPerform": a.avoid})
    return out


def shareable(rtype: str) -> dict[str, Any]:
    """meta declaring the core R4 'shareable' profile, which every knowledge artifact here meets
    (it only requires url, version, name, experimental, publisher and description; checked in the tests)."""
    return {"profile": [f"http://hl7.org/fhir/StructureDefinition/shareable{rtype.lower()}"]}


def _version() -> str:
    return knowledge().version.rsplit("/", 1)[-1]


def library() -> dict[str, Any]:
    """The ontology as a Library: each packaged module a text/turtle attachment with its SHA-1 hash."""
    content = []
    for module in resources.ONTOLOGY_MODULES:
        data = resources.path("ontology", module).read_bytes()
        content.append({"contentType": "text/turtle", "title": f"ontology/{module}.ttl",
                        "data": base64.b64encode(data).decode("ascii"), "size": len(data),
                        "hash": base64.b64encode(hashlib.sha1(data).digest()).decode("ascii")})
    return {"resourceType": "Library", "id": "ontology", "meta": shareable("Library"), "url": LIBRARY_URL,
            "version": _version(), "publisher": PUBLISHER,
            "name": "GuidekgOntology", "title": "guidekg ontology (OWL 2, Turtle)", "status": "active",
            "experimental": True,
            "type": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/library-type", "code": "logic-library"}]},
            "description": "The OWL ontology whose classes decide which recommendations apply (ontology IRI "
                           f"{expand('gk:').rstrip('#')}, version {knowledge().version}).",
            "relatedArtifact": [{"type": "depends-on", "resource": CODESYSTEM_URL},
                                {"type": "depends-on", "resource": DETECTED_ISSUE_URL}],
            "content": content}


def knowledge_resources() -> list[dict[str, Any]]:
    """PlanDefinition, Library, ActivityDefinitions and both CodeSystems, each model-validated."""
    raw = [plan_definition(), library(), *activity_definitions(), detected_issue_codesystem()]
    return [validated(r) for r in raw] + [codesystem_resource()]


def knowledge_bundle() -> dict[str, Any]:
    """A collection Bundle of :func:`knowledge_resources` (``guidekg fhir-knowledge``)."""
    entries = [{"fullUrl": r.get("url") or full_url(r["resourceType"], r["id"]), "resource": r}
               for r in knowledge_resources()]
    return validated({"resourceType": "Bundle", "id": "guidekg-knowledge", "type": "collection", "entry": entries})


__all__ = ["BASE", "PLAN_URL", "LIBRARY_URL", "Action", "actions_of", "citations", "plan_definition", "library",
           "activity_definitions", "knowledge_resources", "knowledge_bundle"]
