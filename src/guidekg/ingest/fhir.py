"""FHIR R4 input: a Bundle, a single resource, an NDJSON file or a Bulk Data export folder.

Resources are grouped by patient through a disk-backed stage (:mod:`.fhir_stage`), each one
is validated against the FHIR R4 model classes of ``fhir.resources`` (its R4B package: the
R4 maintenance release, identical to R4 for every resource read here), and mapped to gk
facts through the data mapping (:mod:`.fhir_map`): mCODE cancer conditions, ECOG, MSI,
Genomics Reporting variants, medications and the project CodeSystem.

A problem becomes a finding on the patient it concerns; a resource that fails the model is
named with its id and element path and not used. A patient without a colorectal primary
cancer condition is out of scope and reported invalid; cancer conditions that do not count
(resolved, abated, unconfirmed), a deceased patient, HGVS variants and unmapped codes that
look relevant are read in :mod:`.fhir_clinical`. Several inputs given together are one
dataset. Resources that carry no guideline fact are counted and summarised on stderr, one
line per resource type.
"""

from __future__ import annotations

import datetime as dt
import re
import sys
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any, TextIO

from fhir.resources.R4B import get_fhir_model_class
from pydantic import ValidationError
from rdflib import XSD, Literal, URIRef
from rdflib.term import Node

from ..model import Finding, PatientRecord, SourceRef
from ..namespaces import GK, patient_iri
from ..vocabulary import vocabulary
from . import fhir_clinical
from .defaults import apply_defaults
from .fhir_map import FhirMapping, fhir_mapping
from .fhir_stage import Stage, Unit, stage_path

OUT_OF_SCOPE = "no colorectal primary cancer condition (out of scope)"


@dataclass
class IngestReport:
    """Counts of resources that gave no fact, summarised on stderr after reading."""

    seen: Counter = field(default_factory=Counter)
    unmapped: Counter = field(default_factory=Counter)
    other: Counter = field(default_factory=Counter)

    def lines(self, source: str) -> list[str]:
        out = [f"guidekg: {source}: {n} of {self.seen[t]} {t} resources not mapped to a guideline fact"
               for t, n in sorted(self.unmapped.items())]
        out += [f"guidekg: {source}: {n} {t} resources ignored (not patient data)" for t, n in sorted(self.other.items())]
        return out

    def emit(self, source: str, stream: TextIO | None = None) -> None:
        for line in self.lines(source):
            print(line, file=stream or sys.stderr)


def read_fhir(path: Path | list[Path], report: IngestReport | None = None) -> Iterator[PatientRecord]:
    """Patients of one FHIR input, or of several read as one dataset (see the module docstring).

    Several inputs share one stage, so a Condition in one file joins the Patient in another
    by its subject reference; patients come out in the order they were first seen.
    """
    paths = path if isinstance(path, list) else [path]
    report = report if report is not None else IngestReport()
    stage = Stage()
    try:
        for each in paths:
            stage_path(each, stage, strict=len(paths) == 1)
        mapping = fhir_mapping()
        for unit in stage.units():
            yield _record(unit, stage, mapping, report)
    finally:
        stage.close()
    report.other.update(stage.other)
    report.emit(", ".join(str(p) for p in paths))


def _file(where: str) -> str:
    return re.sub(r"(:\d+)?( Bundle\.entry\[\d+\])?( \(.*\))?$", "", where)


def _record(unit: Unit, stage: Stage, mapping: FhirMapping, report: IngestReport) -> PatientRecord:
    if unit.kind == "bad":
        record = PatientRecord(unit.where, patient_iri(f"unattributed:{unit.where}"), SourceRef(_file(unit.where)))
        record.findings.append(Finding(unit.message, source=unit.where))
        return record
    source = SourceRef(_file(unit.where), resource=f"Patient/{unit.key}")
    record = PatientRecord(unit.key, patient_iri(unit.key), source)
    record.add(str(GK.patientId), Literal(unit.key, datatype=XSD.string))
    if unit.kind == "missing":
        record.findings.append(Finding(
            f"'{unit.message}' is referenced by {unit.where} but no Patient resource with that id is in the input",
            path="subject.reference", source=unit.where))
        return record
    if unit.kind == "duplicate":
        record.findings.append(Finding(f"Patient/{unit.key} appears more than once ({unit.where})", source=unit.where))
        return record
    builder = _Builder(record, mapping, stage, report)
    builder.patient(unit.where, unit.patient or {})
    for where, resource in unit.resources:
        builder.resource(where, resource)
    builder.finish(unit.where)
    return record


def _element(rtype: str, loc: tuple) -> str:
    return rtype + "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in loc)


class _Builder:
    """Maps one patient's validated resources to facts and findings."""

    def __init__(self, record: PatientRecord, mapping: FhirMapping, stage: Stage, report: IngestReport) -> None:
        self.record, self.m, self.stage, self.report = record, mapping, stage, report
        self.primary = False
        self.status_notes: list[tuple[str, str, str, str, str]] = []  # (primary|liver, kind, reason, resource, where)
        self.birth: dt.date | None = None
        self.latest: tuple[str, str] | None = None  # (day, 'Resource/id.element'): the last clinical date seen
        self.primary_done: Any = None  # the furthest completed treatment of the primary (a primary-status rule)
        self.dates: dict[tuple[str, str], list[str]] = {}  # (property, 'last'|'next') -> days
        self.actions = set(vocabulary().actions.values())

    # ------------------------------------------------------------------ plumbing
    def finding(self, message: str, where: str, path: str | None = None, severity: str = "violation") -> None:
        self.record.findings.append(Finding(message, severity=severity, path=path, source=where))  # type: ignore[arg-type]

    def model(self, where: str, resource: dict) -> Any | None:
        rtype = resource["resourceType"]
        name = f"{rtype}/{resource.get('id', '?')}"
        try:
            cls = get_fhir_model_class(rtype)
        except Exception:  # noqa: BLE001 - an unknown type is reported, never fatal
            self.finding(f"{name}: '{rtype}' is not a FHIR R4 resource type", where, "resourceType")
            return None
        try:
            return cls.model_validate(resource)
        except ValidationError as exc:
            for error in exc.errors()[:5]:
                path = _element(rtype, tuple(error["loc"]))
                self.finding(f"{name} does not conform to the FHIR R4 {rtype} model at {path}: {error['msg']}", where, path)
            return None

    def codings(self, concept: Any, where: str, element: str, name: str) -> list[tuple[str, str, str]]:
        """(system, code, display) of a CodeableConcept; a coding from an unknown system is a warning."""
        out = []
        for index, coding in enumerate((concept.coding or []) if concept is not None else []):
            system = self.m.system(coding.system)
            if system not in self.m.known_systems:
                self.finding(f"{name}: code system '{coding.system}' at {element}.coding[{index}] is not known to guidekg; "
                             f"code '{coding.code}' ignored", where, f"{element}.coding[{index}]", "warning")
            out.append((system, coding.code or "", coding.display or ""))
        return out

    def add(self, prop: str, value: Node) -> None:
        self.record.add(prop, value)

    # ------------------------------------------------------------------ resources
    def patient(self, where: str, resource: dict) -> None:
        model = self.model(where, resource) if resource else None
        if model is None:
            return
        for rule in self.m.lookup("gender", "http://hl7.org/fhir/administrative-gender", model.gender):
            self.add(rule.prop, URIRef(rule.individual))
        self.birth = model.birthDate if isinstance(model.birthDate, dt.date) else None
        if model.deceasedBoolean or model.deceasedDateTime is not None:
            shown = f"deceasedDateTime {_day(model.deceasedDateTime)}" if model.deceasedDateTime is not None else "deceasedBoolean true"
            self.finding(f"Patient/{model.id} is deceased (Patient.{shown}): no recommendations are given", where,
                         "Patient.deceased[x]")

    def resource(self, where: str, resource: dict) -> None:
        rtype = resource["resourceType"]
        self.report.seen[rtype] += 1
        model = self.model(where, resource)
        if model is None:
            return
        name = f"{rtype}/{model.id or '?'}"
        self._date_seen(model, name)
        handler = getattr(self, f"_{rtype.lower()}", None)
        if handler is None or not handler(model, where, name):
            self.report.unmapped[rtype] += 1

    def _ignored(self, concept: Any) -> bool:
        ignored = self.m.statuses("ignored-status")
        if isinstance(concept, str):
            return concept in ignored
        return any(c.code in ignored for c in (concept.coding or [])) if concept is not None else False

    def _condition(self, res: Any, where: str, name: str) -> bool:
        return fhir_clinical.condition(self, res, where, name)

    def _observation(self, res: Any, where: str, name: str) -> bool:
        if self._ignored(res.status):
            return False
        codes = self.codings(res.code, where, "Observation.code", name)
        for s, c, _ in codes:
            if self.m.lookup("variant", s, c):
                return fhir_clinical.variant(self, res, where, name)
            rules = self.m.lookup("observation", s, c)
            if rules:
                return self._coded(res, rules, where, name)
            target = self.m.project(s, c)
            if target in self.m.kinds:
                return self._project(res, target, where, name)
        if not fhir_clinical.gene_result(self, res, where, name):
            fhir_clinical.looks_relevant(self, "Observation", codes, where, name, "Observation.code")
        return False

    def _number(self, res: Any) -> Decimal | None:
        if res.valueInteger is not None:
            return Decimal(res.valueInteger)
        if res.valueQuantity is not None and res.valueQuantity.value is not None:
            return Decimal(str(res.valueQuantity.value))
        return None

    def _coded(self, res: Any, rules: list, where: str, name: str) -> bool:
        values = self.codings(res.valueCodeableConcept, where, "Observation.valueCodeableConcept", name)
        hits = [r for r in rules if r.value_code and (r.value_system, r.value_code) in {(s, c) for s, c, _ in values}]
        for rule in hits:
            self.add(rule.prop, Literal(int(rule.individual), datatype=XSD.integer) if rule.kind == "integer" else URIRef(rule.individual))
        if hits:
            return True
        number = self._number(res)
        for rule in (r for r in rules if not r.value_code and r.kind == "integer"):
            if number is not None and number == number.to_integral_value():
                self.add(rule.prop, Literal(int(number), datatype=XSD.integer))
                return True
        shown = ", ".join(f"{s}|{c}" for s, c, _ in values) or "no coded or integer value"
        self.finding(f"{name}: value ({shown}) is not a mapped answer; observation ignored", where,
                     "Observation.value[x]", "warning")
        return False

    def _project(self, res: Any, prop: str, where: str, name: str) -> bool:
        kind = self.m.kinds[prop]
        value: Node | None = None
        if kind in ("enum", "enum-list"):
            allowed = set(vocabulary().columns[_column(prop)].values.values())
            for s, c, _ in self.codings(res.valueCodeableConcept, where, "Observation.valueCodeableConcept", name):
                target = self.m.project(s, c)
                if target in allowed:
                    self.add(prop, URIRef(target))
                    value = URIRef(target)
        elif kind == "boolean" and res.valueBoolean is not None:
            value = Literal(bool(res.valueBoolean))
        elif kind in ("integer", "decimal") and self._number(res) is not None:
            number = self._number(res)
            assert number is not None
            value = Literal(int(number), datatype=XSD.integer) if kind == "integer" else Literal(number, datatype=XSD.decimal)
        elif kind == "date" and res.valueDateTime is not None:
            value = Literal(_day(res.valueDateTime), datatype=XSD.date)
        if value is None:
            self.finding(f"{name}: no usable {kind} value for {self.m.code_of.get(prop, prop)}; observation ignored",
                         where, "Observation.value[x]", "warning")
            return False
        if kind not in ("enum", "enum-list"):
            self.add(prop, value)
        return True

    def _medications(self, res: Any, where: str, name: str) -> list[tuple[str, str, str]]:
        concept = res.medicationCodeableConcept
        ref = res.medicationReference.reference if res.medicationReference is not None else None
        if concept is None and ref:
            if ref.startswith("#"):
                concept = next((getattr(c, "code", None) for c in (res.contained or []) if getattr(c, "id", None) == ref[1:]), None)
            else:
                found = re.search(r"Medication/([^/]+)$", ref)
                shared = self.stage.shared("Medication", found.group(1)) if found else None
                medication = self.model(where, shared) if shared else None
                concept = medication.code if medication is not None else None
                if shared is None:
                    self.finding(f"{name}: medicationReference '{ref}' is not in the input", where,
                                 f"{name.split('/')[0]}.medicationReference", "warning")
        return self.codings(concept, where, f"{name.split('/')[0]}.medication", name)

    def _actions(self, codes: list[tuple[str, str, str]], slots: tuple[str, ...]) -> list[str]:
        found = [r.individual for s, c, _ in codes for slot in slots for r in self.m.lookup(slot, s, c)]
        found += [t for s, c, _ in codes if (t := self.m.project(s, c)) and (t in self.actions or t in self.m.surgical)]
        return list(dict.fromkeys(found))

    def _medication_actions(self, res: Any, where: str, name: str, statuses: str, prop: str) -> bool:
        """Record a medication resource's drugs as ``prop`` when its status is in ``statuses``."""
        if res.status not in self.m.statuses(statuses):
            return False
        actions = [a for a in self._actions(self._medications(res, where, name), ("medication",)) if a in self.actions]
        for action in actions:
            self.add(prop, URIRef(action))
        return bool(actions)

    def _medicationrequest(self, res: Any, where: str, name: str) -> bool:
        return self._medication_actions(res, where, name, "planned-status", str(GK.plannedAction))

    def _medicationstatement(self, res: Any, where: str, name: str) -> bool:
        return self._medication_actions(res, where, name, "current-status", str(GK.currentRegimen))

    def _medicationadministration(self, res: Any, where: str, name: str) -> bool:
        if res.status not in self.m.statuses("given-status"):
            return False
        when = res.effectiveDateTime or (res.effectivePeriod.start if res.effectivePeriod is not None else None)
        rules = [r for s, c, _ in self._medications(res, where, name) for r in self.m.lookup("last-given", s, c)]
        if when is None or not rules:
            return False
        for rule in rules:
            self.dates.setdefault((rule.prop, "last"), []).append(_day(when))
        return True

    def _planned(self, res: Any, when: Any, element: str, where: str, name: str) -> bool:
        if res.status not in self.m.statuses("planned-status"):
            return False
        actions = self._actions(self.codings(res.code, where, f"{element}.code", name), ("procedure",))
        for action in (a for a in actions if a in self.actions):
            self.add(str(GK.plannedAction), URIRef(action))
        if when is not None and any(a in self.m.surgical for a in actions):
            self.dates.setdefault((str(GK.plannedSurgeryDate), "next"), []).append(_day(when))
        return bool(actions)

    def _servicerequest(self, res: Any, where: str, name: str) -> bool:
        when = res.occurrenceDateTime or (res.occurrencePeriod.start if res.occurrencePeriod is not None else None)
        return self._planned(res, when, "ServiceRequest", where, name)

    def _procedure(self, res: Any, where: str, name: str) -> bool:
        when = res.performedDateTime or (res.performedPeriod.start if res.performedPeriod is not None else None)
        if res.status in self.m.statuses("done-status"):
            rules = [r for s, c, _ in self.codings(res.code, where, "Procedure.code", name)
                     for r in self.m.lookup("primary-status", s, c)]
            for rule in rules:
                if self.primary_done is None or int(rule.kind) > int(self.primary_done.kind):
                    self.primary_done = rule
            return bool(rules)
        return self._planned(res, when, "Procedure", where, name)

    def _date_seen(self, model: Any, name: str) -> None:
        """Remember the latest clinical date of the record: the assessment date when none is given."""
        for element in _DATE_ELEMENTS:
            value = getattr(model, element, None)
            value = getattr(value, "end", None) or getattr(value, "start", None) if hasattr(value, "start") else value
            if isinstance(value, (dt.date, dt.datetime)):
                day = _day(value)
                if self.latest is None or day > self.latest[0]:
                    self.latest = (day, f"{name}.{element}")
                return

    # ------------------------------------------------------------------ end of patient
    def _age(self, where: str) -> None:
        """Age in whole years from Patient.birthDate at the assessment date, naming the date used."""
        assert self.birth is not None
        as_of = self.record.values(str(GK.asOf))
        if as_of:
            day, used = dt.date.fromisoformat(str(as_of[0])[:10]), "the record's as-of date (gk:asOf)"
        elif self.latest is not None:
            day, used = dt.date.fromisoformat(self.latest[0]), f"the latest date in the record ({self.latest[1]})"
        else:
            self.finding(f"Patient.birthDate {self.birth.isoformat()} is given but the record has no dated resource or "
                         "as-of date to compute the age at; age not recorded", where, "Patient.birthDate", "warning")
            return
        years = day.year - self.birth.year - ((day.month, day.day) < (self.birth.month, self.birth.day))
        self.add(str(GK.age), Literal(years, datatype=XSD.integer))
        self.finding(f"age {years} computed from Patient.birthDate {self.birth.isoformat()} at {day.isoformat()}, "
                     f"{used}", where, "Patient.birthDate", "info")

    def finish(self, where: str) -> None:
        for (prop, which), days in self.dates.items():
            # the last dose given, the next operation planned
            self.add(prop, Literal(max(days) if which == "last" else min(days), datatype=XSD.date))
        if self.primary_done is not None and not self.record.values(str(GK.primaryStatus)):
            self.add(self.primary_done.prop, URIRef(self.primary_done.individual))
        if not self.record.values(str(GK.age)) and self.birth is not None:
            self._age(where)
        fhir_clinical.status_findings(self, where, OUT_OF_SCOPE)
        apply_defaults(self.record)


_DATE_ELEMENTS = ("effectiveDateTime", "effectivePeriod", "issued", "recordedDate", "onsetDateTime", "performedDateTime",
                  "performedPeriod", "authoredOn", "occurrenceDateTime", "effectiveInstant")
"""Dates that say when a resource's fact held; the latest is the assessment date when no as-of date is given."""


def _column(prop: str) -> str:
    return next(c.name for c in vocabulary().columns.values() if c.prop == prop)


def _day(value: Any) -> str:
    if isinstance(value, dt.datetime):
        return value.date().isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    return str(value)[:10]
