"""Cancer conditions and genomic variants from FHIR: the two readings where a mistake changes the regimen.

Why split from :mod:`.fhir`: both need more than a code lookup. A cancer Condition counts
only if its clinical and verification status say so (:mod:`.clinical_status`); a variant
Observation is read through HGVS normalisation (:mod:`.variants`), and a copy-number or
expression result is never a mutation. Codes that look oncological but map to nothing are
reported per patient, naming the resource, instead of being counted silently.
"""

from __future__ import annotations

import re
from functools import lru_cache
from typing import TYPE_CHECKING, Any

from rdflib import URIRef

from .clinical_status import condition_status
from .variants import classify, variant_table

if TYPE_CHECKING:  # pragma: no cover
    from .fhir import _Builder


@lru_cache(maxsize=8)
def _patterns(rows: tuple[str, ...]) -> list[re.Pattern[str]]:
    return [re.compile(r) for r in rows]


def looks_relevant(b: _Builder, rtype: str, codes: list[tuple[str, str, str]], where: str, name: str, element: str) -> None:
    """Warn when an unmapped code looks like something the guideline reads (patterns in fhir.csv)."""
    patterns = _patterns(tuple(r.code for r in b.m.slot("looks-relevant") if r.system == rtype))
    for system, code, display in codes:
        text = f"{system}|{code}|{display}"
        if any(p.search(text) for p in patterns):
            b.finding(f"{name}: {element} {system}|{code}{f' ({display})' if display else ''} looks relevant to the "
                      "guideline but is not mapped; it was not used", where, element, "warning")
            return


def condition(b: _Builder, res: Any, where: str, name: str) -> bool:
    """A colorectal primary or liver metastases, if the Condition counts; else a named decision."""
    if b._ignored(res.verificationStatus):
        return False
    codes = b.codings(res.code, where, "Condition.code", name)
    sites = [b.codings(site, where, f"Condition.bodySite[{i}]", name) for i, site in enumerate(res.bodySite or [])]
    primary = [r for s, c, _ in codes for r in b.m.lookup("primary-cancer", s, c)]
    kinds = {r.kind for s, c, _ in codes for r in b.m.lookup("metastasis", s, c)}
    liver_site = any(b.m.lookup("metastasis-site", s, c) for site in sites for s, c, _ in site)
    liver = not primary and ("liver" in kinds or ("needs-site" in kinds and liver_site))
    if not primary and not liver:
        looks_relevant(b, "Condition", codes, where, name, "Condition.code")
        return False
    decision = condition_status(res, b.m)
    if decision.kind != "counts":
        b.status_notes.append(("primary" if primary else "liver", decision.kind, decision.reason or "", name, where))
        return True
    if primary:
        b.primary = True
        for rule in primary:
            if rule.individual:
                b.add(rule.prop, URIRef(rule.individual))
        for site in sites:
            for s, c, _ in site:
                for rule in b.m.lookup("primary-site", s, c):
                    b.add(rule.prop, URIRef(rule.individual))
        return True
    for i, site in enumerate(res.bodySite or []):
        for ext in site.extension or []:
            if b.m.extension_kind(ext.url) != "laterality":
                continue
            for s, c, _ in b.codings(ext.valueCodeableConcept, where, f"Condition.bodySite[{i}].extension", name):
                for rule in b.m.lookup("laterality", s, c):
                    b.add(rule.prop, URIRef(rule.individual))
    return True


def status_findings(b: _Builder, where: str, out_of_scope: str) -> None:
    """Name each status decision in the validation output; without a counted primary, say why."""
    notes = b.status_notes
    for site, kind, reason, name, src in notes:
        what = "colorectal primary" if site == "primary" else "liver metastases"
        if kind == "needs-confirmation":
            text = f"{name}: {what} not confirmed ({reason}): needs confirmation; not counted"
        else:
            text = f"{name}: {what} not active ({reason}): not counted"
        severity = "violation" if site == "primary" and not b.primary else "warning"
        if severity == "violation":
            text += ("; no regimen until the diagnosis is confirmed" if kind == "needs-confirmation"
                     else "; no active colorectal cancer, so no regimen")
        b.finding(text, src, "Condition.verificationStatus" if kind == "needs-confirmation" else "Condition.clinicalStatus",
                  severity)
    if not b.primary and not any(site == "primary" for site, *_ in notes):
        b.finding(out_of_scope, where, "Condition")


def _texts(concept: Any) -> list[str]:
    return [x for c in ((concept.coding or []) if concept is not None else []) for x in (c.code, c.display) if x]


def variant(b: _Builder, res: Any, where: str, name: str) -> bool:
    """A Genomics Reporting variant for a gene the guideline reads (variants.csv)."""
    genes: list[str] = []
    protein: list[str] = []
    cdna: list[str] = []
    regions: list[str] = []
    not_mutation = False
    for comp in res.component or []:
        kinds = {b.m.component_kind(c.system, c.code) for c in (comp.code.coding or [])}
        texts = _texts(comp.valueCodeableConcept) + ([comp.valueString] if comp.valueString else [])
        if "gene" in kinds:
            genes += texts
        if "aa-change" in kinds:
            protein += texts
        if "dna-change" in kinds:
            cdna += texts
        if "region" in kinds:
            regions += texts
        if "copy-number" in kinds:
            not_mutation = True
        if "change-type" in kinds and comp.valueCodeableConcept is not None:
            not_mutation |= any(b.m.lookup("not-mutation", c.system, c.code) for c in comp.valueCodeableConcept.coding or [])
    table = variant_table()
    hgnc = list(dict.fromkeys(g for g in (table.gene(t) for t in genes) if g))
    if not hgnc:
        return False
    values = b.codings(res.valueCodeableConcept, where, "Observation.valueCodeableConcept", name)
    answers = {r.kind for s, c, _ in values for r in b.m.lookup("variant-value", s, c)}
    present = True if answers == {"present"} else False if answers == {"absent"} else None
    for gene in hgnc:
        symbol = table.of(gene)[0].symbol
        if not_mutation:
            b.finding(f"{name}: a copy-number result for {symbol} is not a mutation; not read as a {symbol} result "
                      f"({symbol} stays not tested unless another result gives it)", where, "Observation.component", "warning")
            continue
        absent = next((r.individual for r in b.m.rules if r.slot == "variant" and r.gene == gene
                       and r.value_code and b.m.lookup("variant-value", r.value_system, r.value_code)
                       and b.m.lookup("variant-value", r.value_system, r.value_code)[0].kind == "absent"), None)
        reading = classify(gene, present, protein, cdna, absent, regions)
        if reading is None:
            continue
        if reading.individual:
            b.add(reading.prop, URIRef(reading.individual))
        if reading.note:
            b.finding(f"{name}: {reading.note}", where, "Observation.component", "warning")
    return True


def gene_result(b: _Builder, res: Any, where: str, name: str) -> bool:
    """An Observation about a guideline gene that is not a variant assessment (expression, copy number)."""
    table = variant_table()
    for comp in res.component or []:
        if "gene" not in {b.m.component_kind(c.system, c.code) for c in (comp.code.coding or [])}:
            continue
        for text in _texts(comp.valueCodeableConcept):
            gene = table.gene(text)
            if gene:
                symbol = table.of(gene)[0].symbol
                b.finding(f"{name}: result about {symbol} that is not a variant assessment (e.g. expression or copy "
                          f"number); not read as a {symbol} mutation", where, "Observation.code", "warning")
                return True
    return False
