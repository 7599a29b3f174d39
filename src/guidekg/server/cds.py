"""CDS Hooks 2.0 for ``guidekg serve``: discovery, a patient-view and an order-sign/order-select service, feedback.

Spec: https://cds-hooks.hl7.org/2.0/ (Discovery, Calling a CDS Service, Prefetch Template,
FHIR Resource Access, CDS Service Response, Feedback) and the hook pages for patient-view,
order-select and order-sign (``context.draftOrders`` is an R4 Bundle of draft orders).

Flow of one call: validate the request (400 for a missing/ill-typed ``context`` or a
malformed ``draftOrders``), gather the patient's resources (prefetch, then ``fhirServer``:
:mod:`.cds_fetch`), put them and the draft orders into one collection Bundle and assess it
through the same worker pool and FHIR ingest as ``POST /recommend``, then turn the §5.1
JSON into cards (:mod:`.cds_cards`). When no patient data could be had at all the answer is
412 (the spec's code); when some could not, a warning card says which and why, so the
service never answers "no advice" silently.
"""

from __future__ import annotations

import asyncio
import json
import secrets
import time
from collections import OrderedDict, deque
from collections.abc import Awaitable, Callable
from datetime import datetime
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from .cds_cards import card, headline_cards, order_cards
from .cds_fetch import FHIR_ID, PREFETCH, gather
from .limits import BodyTooLarge, ServerConfig, read_body
from .sparql import Reply

Assess = Callable[[Request, bytes, str], Awaitable[Reply]]
ORDER_TYPES = ("MedicationRequest", "ServiceRequest")
SERVICES = [
    {"hook": "patient-view", "title": "guidekg: rectal cancer with bilobar liver metastases",
     "description": "Guideline headline for a patient with stage IV rectal cancer and non-resectable bilobar liver "
                    "metastases: the first-line choice, the next step on the care pathway, missing data and alerts, "
                    "each with its evidence and a link to the MDT page.",
     "id": "guidekg-patient-view", "prefetch": PREFETCH},
    {"hook": "order-sign", "title": "guidekg: check draft orders against the guideline",
     "description": "Judges each draft MedicationRequest/ServiceRequest with the guideline's plan verdicts: critical "
                    "when contraindicated, warning when not recommended or when data must come first; suggests "
                    "removing the order and, where the guideline recommends an alternative for this patient, ordering it.",
     "id": "guidekg-order-sign", "prefetch": PREFETCH},
    {"hook": "order-select", "title": "guidekg: check selected orders against the guideline",
     "description": "The order-sign checks, run as orders are selected (before signing).",
     "id": "guidekg-order-select", "prefetch": PREFETCH},
]
BY_ID = {s["id"]: s for s in SERVICES}


class BadRequest(ValueError):
    """The CDS request is malformed (HTTP 400)."""


class Cases:
    """Recent assessments by random key, so a card can link to the MDT page of its patient.

    In memory only, at most ``size`` entries and ``ttl`` seconds each: the key is unguessable
    and the server is on loopback by default; nothing is written to disk.
    """

    def __init__(self, size: int = 256, ttl: float = 3600.0) -> None:
        self.size, self.ttl = size, ttl
        self._items: OrderedDict[str, tuple[float, list[dict[str, Any]]]] = OrderedDict()

    def put(self, results: list[dict[str, Any]]) -> str:
        key = secrets.token_urlsafe(16)
        self._items[key] = (time.monotonic(), results)
        while len(self._items) > self.size:
            self._items.popitem(last=False)
        return key

    def get(self, key: str) -> list[dict[str, Any]] | None:
        item = self._items.get(key)
        if item is None or time.monotonic() - item[0] > self.ttl:
            self._items.pop(key, None)
            return None
        return item[1]


def _object(value: Any, name: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise BadRequest(f"'{name}' must be a JSON object")
    return value


def parse_request(raw: bytes, service: dict[str, Any]) -> dict[str, Any]:
    """The request object, checked against CDS Hooks 2.0 "Calling a CDS Service" and the hook's context."""
    try:
        request = json.loads(raw)
    except (ValueError, RecursionError) as exc:
        raise BadRequest(f"the body is not JSON: {str(exc)[:200]}") from exc
    request = _object(request, "request body")
    if request.get("hook") != service["hook"]:
        raise BadRequest(f"this service answers the '{service['hook']}' hook, not {request.get('hook')!r}")
    if not isinstance(request.get("hookInstance"), str) or not request["hookInstance"]:
        raise BadRequest("'hookInstance' (a string) is required")
    context = _object(request.get("context"), "context")
    patient = context.get("patientId")
    if not isinstance(patient, str) or not FHIR_ID.match(patient) or set(patient) == {"."}:
        raise BadRequest("'context.patientId' must be a FHIR id (1-64 letters, digits, '-' or '.')")
    if "fhirAuthorization" in request:
        auth = _object(request["fhirAuthorization"], "fhirAuthorization")
        if not isinstance(auth.get("access_token"), str) or not isinstance(request.get("fhirServer"), str):
            raise BadRequest("'fhirAuthorization' needs an 'access_token' string and a 'fhirServer'")
    if service["hook"] != "patient-view":
        request["orders"] = draft_orders(context.get("draftOrders"))
    if service["hook"] == "order-select":  # judge the orders just selected, not every unsigned one again
        selections = context.get("selections")
        if not isinstance(selections, list) or not selections or not all(isinstance(s, str) for s in selections):
            raise BadRequest("'context.selections' (the ids of the newly selected orders, e.g. 'MedicationRequest/1') is required")
        request["orders"] = [o for o in request["orders"] if f"{o['resourceType']}/{o['id']}" in selections]
    return request


def draft_orders(bundle: Any) -> list[dict[str, Any]]:
    """The draft MedicationRequest/ServiceRequest resources of ``context.draftOrders`` (400 when malformed)."""
    if not isinstance(bundle, dict) or bundle.get("resourceType") != "Bundle":
        raise BadRequest("'context.draftOrders' must be a FHIR Bundle of draft orders")
    entries = bundle.get("entry", [])
    if not isinstance(entries, list):
        raise BadRequest("'context.draftOrders.entry' must be an array")
    orders = []
    for index, entry in enumerate(entries):
        resource = entry.get("resource") if isinstance(entry, dict) else None
        if not isinstance(resource, dict) or not isinstance(resource.get("resourceType"), str):
            raise BadRequest(f"'context.draftOrders.entry[{index}]' has no resource")
        if resource["resourceType"] in ORDER_TYPES:
            if not isinstance(resource.get("id"), str) or not FHIR_ID.match(resource["id"]):
                raise BadRequest(f"'context.draftOrders.entry[{index}].resource.id' must be a FHIR id")
            orders.append(resource)
    return orders


def bundle_for(patient: str, resources: list[dict[str, Any]], orders: list[dict[str, Any]]) -> bytes:
    """One collection Bundle for the FHIR ingest: the patient's resources, the draft orders last (they win on id clashes).

    A draft order with no subject is this patient's (the hook's context says so), so it gets one.
    """
    chosen: dict[tuple[str, str], dict[str, Any]] = {}
    for index, resource in enumerate(resources + orders):
        if resource.get("resourceType") in ORDER_TYPES and "subject" not in resource:
            resource = dict(resource, subject={"reference": f"Patient/{patient}"})
        chosen[(resource["resourceType"], str(resource.get("id") or f"#{index}"))] = resource
    entries = [{"resource": r} for r in chosen.values()]
    return json.dumps({"resourceType": "Bundle", "type": "collection", "entry": entries}).encode("utf-8")


def _error(status: int, message: str) -> JSONResponse:
    return JSONResponse({"error": message}, status_code=status)


def mount_cds(app: FastAPI, config: ServerConfig, assess: Assess, folder: Path, cases: Cases) -> None:
    """Add ``/cds-services`` (discovery), ``/cds-services/{id}`` and ``/cds-services/{id}/feedback``."""
    feedback_log: deque[dict[str, Any]] = deque(maxlen=10_000)
    app.state.cds_feedback = feedback_log
    allowed = list(getattr(config, "cds_fhir_servers", []) or [])
    tables_lock = asyncio.Lock()
    loaded: dict[str, Any] = {}

    async def decision_tables():
        async with tables_lock:
            if not loaded:
                def load():
                    from ..ingest.fhir_map import fhir_mapping
                    from ..knowledge import knowledge

                    return knowledge().plan_tables, fhir_mapping()

                loaded["tables"], loaded["mapping"] = await asyncio.to_thread(load)
        return loaded["tables"], loaded["mapping"]

    @app.get("/cds-services", summary="CDS Hooks discovery: the services, their hooks and prefetch templates")
    async def discovery() -> JSONResponse:
        return JSONResponse({"services": SERVICES})

    @app.post("/cds-services/{service_id}", summary="Call a CDS Hooks service (patient-view, order-sign, order-select)")
    async def call(service_id: str, request: Request) -> JSONResponse:
        service = BY_ID.get(service_id)
        if service is None:
            return _error(404, f"no CDS service '{service_id}' (see GET /cds-services)")
        try:
            raw = await read_body(request, config.max_body)
            body = parse_request(raw, service)
            context = body["context"]
            gathered = await gather(body, context, allowed)
        except BodyTooLarge as exc:
            return _error(413, str(exc))
        except (BadRequest, ValueError) as exc:
            return _error(400, str(exc))
        patient = context["patientId"]
        if not gathered.resources:
            why = "; ".join(f"{k}: {v}" for k, v in gathered.unavailable.items()) or "the prefetch holds no resources"
            return _error(412, f"no FHIR data about Patient/{patient} could be had ({why})")
        orders = body.get("orders", [])
        reply = await assess(request, bundle_for(patient, gathered.resources, orders), "application/fhir+json")
        try:
            document = json.loads(reply.body)
        except ValueError:
            document = None
        results = document if isinstance(document, list) else document.get("results") if isinstance(document, dict) else None
        if not isinstance(results, list):
            status = reply.status if reply.status >= 400 else 502
            return _error(status, f"the assessment did not complete: {reply.body[:300].decode('utf-8', 'replace')}")
        mine = [r for r in results if r.get("patient") == patient]
        key = cases.put(mine or results)
        page = {"label": "Open this patient's MDT page", "url": str(request.base_url).rstrip("/") + f"/mdt/cases/{key}",
                "type": "absolute"}
        cards: list[dict[str, Any]] = []
        if gathered.unavailable:
            cards.append(card("Part of the record could not be read; the advice below may be incomplete", "warning",
                              "Not available to guidekg:\n\n" + "\n".join(f"- {k}: {v}" for k, v in gathered.unavailable.items())))
        if not mine:
            cards.append(card(f"guidekg found no assessable record for Patient/{patient}", "warning",
                              "The data received held no Patient resource with this id.", [page]))
            return JSONResponse({"cards": cards})
        if service["hook"] == "patient-view":
            cards += headline_cards(mine[0], page)
        else:
            tables, mapping = await decision_tables()
            cards += order_cards(tables, mapping, mine[0], orders, patient, page)
        return JSONResponse({"cards": cards})

    @app.post("/cds-services/{service_id}/feedback", summary="CDS Hooks feedback: the clinician's response to a card")
    async def feedback(service_id: str, request: Request) -> JSONResponse:
        if service_id not in BY_ID:
            return _error(404, f"no CDS service '{service_id}'")
        try:
            raw = await read_body(request, config.max_body)
            items = parse_feedback(raw)
        except BodyTooLarge as exc:
            return _error(413, str(exc))
        except BadRequest as exc:
            return _error(400, str(exc))
        with (folder / "cds-feedback.jsonl").open("a", encoding="utf-8") as log:
            for item in items:
                record = {"service": service_id, **item}
                feedback_log.append(record)
                log.write(json.dumps(record) + "\n")
        return JSONResponse({"recorded": len(items)})


def parse_feedback(raw: bytes) -> list[dict[str, Any]]:
    """The feedback items, checked against CDS Hooks 2.0 "Feedback" (card, outcome, outcomeTimestamp, ...)."""
    try:
        body = json.loads(raw)
    except (ValueError, RecursionError) as exc:
        raise BadRequest(f"the body is not JSON: {str(exc)[:200]}") from exc
    items = _object(body, "request body").get("feedback")
    if not isinstance(items, list) or not items:
        raise BadRequest("'feedback' must be a non-empty array")
    out = []
    for index, item in enumerate(items):
        where = f"feedback[{index}]"
        item = _object(item, where)
        if not isinstance(item.get("card"), str) or not item["card"]:
            raise BadRequest(f"'{where}.card' (the card's uuid) is required")
        if item.get("outcome") not in ("accepted", "overridden"):
            raise BadRequest(f"'{where}.outcome' must be 'accepted' or 'overridden'")
        stamp = item.get("outcomeTimestamp")
        try:
            datetime.fromisoformat(str(stamp).replace("Z", "+00:00"))
        except ValueError as exc:
            raise BadRequest(f"'{where}.outcomeTimestamp' must be an ISO timestamp") from exc
        accepted = item.get("acceptedSuggestions")
        if item["outcome"] == "accepted":
            if not isinstance(accepted, list) or not accepted or not all(isinstance(a, dict) and isinstance(a.get("id"), str) for a in accepted):
                raise BadRequest(f"'{where}.acceptedSuggestions' must list the accepted suggestions' ids")
        reason = item.get("overrideReason")
        if reason is not None and not isinstance(reason, dict):
            raise BadRequest(f"'{where}.overrideReason' must be an object")
        out.append({k: item[k] for k in ("card", "outcome", "outcomeTimestamp", "acceptedSuggestions", "overrideReason") if k in item})
    return out
