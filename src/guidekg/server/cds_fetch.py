"""CDS Hooks data gathering: prefetch first, then the client's ``fhirServer``, nothing else.

Why this module is narrow: the CDS service is the only place the server makes an outbound
request, and the URL it goes to is chosen by the caller. So the fetch is held to exactly
what CDS Hooks 2.0 allows a service to do with ``fhirServer`` + ``fhirAuthorization``
("FHIR Resource Access"): GET the service's own prefetch templates (tokens replaced by the
request's context), with the bearer token, against a base URL the operator listed with
``--cds-fhir-server`` (none by default, so a fresh server contacts no one). No redirects
are followed, each request has a short timeout and a size limit, and a search's ``next``
page is read only when it lies under the same base URL.

Spec text used (CDS Hooks 2.0, "Providing FHIR Resources to a CDS Service"): a missing
prefetch key means the client did not satisfy it (the service fetches it); a key whose value
is ``null`` means there is no data (nothing to fetch); a service that cannot obtain required
data answers 412.
"""

from __future__ import annotations

import asyncio
import re
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote, urlsplit

import httpx

PREFETCH: dict[str, str] = {
    "patient": "Patient/{{context.patientId}}",
    "conditions": "Condition?patient={{context.patientId}}",
    "observations": "Observation?patient={{context.patientId}}",
    "medicationRequests": "MedicationRequest?patient={{context.patientId}}",
    "medicationStatements": "MedicationStatement?patient={{context.patientId}}",
    "medicationAdministrations": "MedicationAdministration?patient={{context.patientId}}",
    "procedures": "Procedure?patient={{context.patientId}}",
    "serviceRequests": "ServiceRequest?patient={{context.patientId}}",
}
"""Prefetch key -> FHIR read/search template. Observations cover stage, biomarkers (MSI, RAS/BRAF
variants, HER2) and ECOG; medication and procedure resources carry the current and planned treatment."""

FHIR_ID = re.compile(r"^[A-Za-z0-9\-.]{1,64}$")  # FHIR R4 id datatype
TIMEOUT = httpx.Timeout(5.0, connect=2.0)
MAX_BYTES = 5 * 1024 * 1024
MAX_PAGES = 10


@dataclass
class Gathered:
    """The patient's resources and what could not be had (each with the reason, for a card)."""

    resources: list[dict[str, Any]] = field(default_factory=list)
    fetched: list[str] = field(default_factory=list)
    unavailable: dict[str, str] = field(default_factory=dict)


def render(template: str, context: dict[str, Any]) -> str:
    """A template with its ``{{context.x}}`` tokens replaced (values URL-quoted)."""
    return re.sub(r"\{\{context\.(\w+)\}\}", lambda m: quote(str(context.get(m.group(1), "")), safe=""), template)


def resources_of(value: Any) -> list[dict[str, Any]]:
    """The resources in a prefetch value: a resource, or a (searchset) Bundle of them."""
    if not isinstance(value, dict):
        return []
    if value.get("resourceType") == "Bundle":
        entries = value.get("entry")
        return [e["resource"] for e in entries if isinstance(e, dict) and isinstance(e.get("resource"), dict)
                and isinstance(e["resource"].get("resourceType"), str)] if isinstance(entries, list) else []
    return [value] if isinstance(value.get("resourceType"), str) else []


def allowed_server(base: str, allowed: list[str]) -> bool:
    """Whether the operator lets the service contact this fhirServer (exact base URL, or '*')."""
    parts = urlsplit(base)
    if parts.scheme not in ("http", "https") or not parts.netloc or parts.username or parts.password:
        return False
    return "*" in allowed or base.rstrip("/") in {a.rstrip("/") for a in allowed}


async def _get(client: httpx.AsyncClient, url: str, token: str | None) -> dict[str, Any]:
    headers = {"Accept": "application/fhir+json"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    async with client.stream("GET", url, headers=headers) as response:
        if response.status_code == 404:
            return {}
        if response.status_code >= 300:
            raise ValueError(f"HTTP {response.status_code}")
        body = bytearray()
        async for chunk in response.aiter_bytes():
            body.extend(chunk)
            if len(body) > MAX_BYTES:
                raise ValueError(f"answer over {MAX_BYTES} bytes")
    import json

    try:
        document = json.loads(bytes(body))
    except (ValueError, RecursionError) as exc:
        raise ValueError("the answer is not JSON") from exc
    if not isinstance(document, dict):
        raise ValueError("the answer is not a FHIR resource")
    return document


async def _fetch_key(client: httpx.AsyncClient, base: str, path: str, token: str | None) -> list[dict[str, Any]]:
    url, out = f"{base.rstrip('/')}/{path}", []
    for _ in range(MAX_PAGES):
        document = await _get(client, url, token)
        out.extend(resources_of(document))
        links = document.get("link")
        following = [link.get("url") for link in links if isinstance(link, dict) and link.get("relation") == "next"] \
            if isinstance(links, list) else []
        if not following or not isinstance(following[0], str) or not following[0].startswith(base.rstrip("/") + "/"):
            break
        url = following[0]
    return out


async def gather(request: dict[str, Any], context: dict[str, Any], allowed: list[str]) -> Gathered:
    """Prefetched resources, plus the missing keys fetched from ``fhirServer`` when that is allowed."""
    out = Gathered()
    prefetch = request.get("prefetch") or {}
    if not isinstance(prefetch, dict):
        raise ValueError("'prefetch' must be an object of prefetch keys")
    missing = []
    for key, template in PREFETCH.items():
        if key in prefetch:
            out.resources.extend(resources_of(prefetch[key]))  # null: the client has no data for it
        else:
            missing.append((key, template))
    if not missing:
        return out
    base = request.get("fhirServer")
    if not isinstance(base, str) or not base:
        for key, _ in missing:
            out.unavailable[key] = "not prefetched and no fhirServer given"
        return out
    if not allowed_server(base, allowed):
        for key, _ in missing:
            out.unavailable[key] = (f"not prefetched, and this server may not contact the fhirServer {base!r} "
                                    "(the operator lists permitted FHIR servers with --cds-fhir-server)")
        return out
    auth = request.get("fhirAuthorization")
    token = auth.get("access_token") if isinstance(auth, dict) and isinstance(auth.get("access_token"), str) else None
    async with httpx.AsyncClient(timeout=TIMEOUT, follow_redirects=False, trust_env=False) as client:
        answers = await asyncio.gather(*(_fetch_key(client, base, render(t, context), token) for _, t in missing),
                                       return_exceptions=True)
    for (key, _), answer in zip(missing, answers, strict=True):
        if isinstance(answer, BaseException):
            reason = str(answer) or type(answer).__name__
            out.unavailable[key] = f"could not be read from the fhirServer: {type(answer).__name__}: {reason[:200]}"
        else:
            out.resources.extend(answer)
            out.fetched.append(key)
    return out
