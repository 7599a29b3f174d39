"""Group FHIR resources by patient without holding the input in memory.

Why a disk-backed stage: a Bulk Data export is one NDJSON file per resource type, so one
patient's facts are spread over every file. Each line is parsed once and written to a
temporary SQLite table keyed by the patient it refers to; patients are then read back one
at a time. Python memory stays bounded by one patient's resources whatever the file size
(SQLite keeps its own small page cache). Bundles go through the same stage, so a Bundle, a
single resource, an NDJSON file and a folder of any of these share one code path.

A unit is one output patient: a Patient resource, a patient only referenced (its record is
invalid: the reference is dangling), or a placeholder for input that belongs to no patient
(an invalid JSON line, a clinical resource without subject) so that no problem is silent.
"""

from __future__ import annotations

import json
import re
import sqlite3
import tempfile
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from .errors import InputError

PATIENT_DATA = frozenset({"Condition", "Observation", "MedicationRequest", "MedicationAdministration",
                          "MedicationStatement", "Procedure", "ServiceRequest"})
"""Resource types this reader maps; each must name its patient in ``subject``."""

SHARED = frozenset({"Medication"})
"""Resource types other resources point to (medicationReference); kept by id."""

_PATIENT_REF = re.compile(r"(?:^|/)Patient/([A-Za-z0-9\-.]{1,64})(?:/_history/[^/]*)?$")
_BATCH = 500


@dataclass
class Unit:
    """One output patient and where its resources are."""

    kind: str  # patient | missing | bad
    key: str
    where: str
    message: str = ""
    patient: dict | None = None
    resources: list[tuple[str, dict]] = field(default_factory=list)


def _json_error(where: str, exc: json.JSONDecodeError, line_offset: int = 0) -> str:
    line = exc.lineno + line_offset
    return f"{where}:{line}:{exc.colno}: invalid JSON: {exc.msg} (line {line}, column {exc.colno})"


class Stage:
    """A temporary SQLite store of resources grouped by patient key."""

    def __init__(self) -> None:
        self._dir = tempfile.TemporaryDirectory(prefix="guidekg-fhir-")
        self.db = sqlite3.connect(str(Path(self._dir.name) / "stage.sqlite"))
        self.db.executescript(
            "PRAGMA journal_mode=OFF; PRAGMA synchronous=OFF; PRAGMA cache_size=-4000;"
            "CREATE TABLE res(seq INTEGER PRIMARY KEY, pkey TEXT, rtype TEXT, loc TEXT, body TEXT);"
            "CREATE TABLE unit(seq INTEGER PRIMARY KEY, kind TEXT, pkey TEXT, loc TEXT, message TEXT, body TEXT);"
            "CREATE TABLE shared(rtype TEXT, rid TEXT, body TEXT, PRIMARY KEY (rtype, rid));")
        self.seq = 0
        self.other = Counter()  # resource types that are not patient data (Practitioner, CodeSystem, ...)
        self._res: list[tuple] = []
        self._units: list[tuple] = []
        self._finished = False

    def close(self) -> None:
        self.db.close()
        self._dir.cleanup()

    def _next(self) -> int:
        self.seq += 1
        return self.seq

    def _flush(self) -> None:
        if self._res:
            self.db.executemany("INSERT INTO res VALUES (?,?,?,?,?)", self._res)
            self._res.clear()
        if self._units:
            self.db.executemany("INSERT INTO unit VALUES (?,?,?,?,?,?)", self._units)
            self._units.clear()

    def bad(self, where: str, message: str) -> None:
        """A placeholder patient for input that cannot be attributed to anyone."""
        self._units.append((self._next(), "bad", f"bad:{self.seq}", where, message, None))

    def add(self, where: str, resource: object, urls: dict[str, str] | None = None) -> None:
        """Stage one resource (a Bundle is unpacked) read at ``where``."""
        if not isinstance(resource, dict) or not isinstance(resource.get("resourceType"), str):
            self.bad(where, f"{where}: not a FHIR resource (a JSON object with 'resourceType' is expected)")
            return
        rtype = resource["resourceType"]
        if rtype == "Bundle":
            self._add_bundle(where, resource)
            return
        rid = resource.get("id") if isinstance(resource.get("id"), str) else None
        name = f"{rtype}/{rid}" if rid else f"{rtype} (no id)"
        body = json.dumps(resource, separators=(",", ":"))
        if rtype == "Patient":
            key = rid or (urls or {}).get("__self__") or f"{where}#{self.seq + 1}"
            self._units.append((self._next(), "patient", key, where, "", body))
        elif rtype in SHARED and rid:
            self.db.execute("INSERT OR REPLACE INTO shared VALUES (?,?,?)", (rtype, rid, body))
        elif rtype in PATIENT_DATA or "subject" in resource:
            ref = resource.get("subject")
            reference = ref.get("reference") if isinstance(ref, dict) else None
            if not isinstance(reference, str) or not reference:
                if rtype in PATIENT_DATA:
                    self.bad(f"{where} ({name})", f"{name} has no subject ({rtype}.subject.reference is missing): "
                                                  "it cannot be attributed to a patient")
                else:
                    self.other[rtype] += 1
                return
            key = self.resolve(reference, urls or {})
            seq = self._next()
            self._res.append((seq, key, rtype, f"{where} ({name})", body))
            self._units.append((seq, "missing", key, f"{where} ({name})", reference, None))
        else:
            self.other[rtype] += 1
        if len(self._res) + len(self._units) >= _BATCH:
            self._flush()

    def _add_bundle(self, where: str, bundle: dict) -> None:
        entries = bundle.get("entry") or []
        if not isinstance(entries, list):
            self.bad(where, f"{where}: Bundle.entry is not a list")
            return
        urls: dict[str, str] = {}
        for entry in entries:
            res = entry.get("resource") if isinstance(entry, dict) else None
            if isinstance(res, dict) and res.get("resourceType") == "Patient" and isinstance(entry.get("fullUrl"), str):
                urls[entry["fullUrl"]] = res.get("id") or entry["fullUrl"]
        for index, entry in enumerate(entries):
            res = entry.get("resource") if isinstance(entry, dict) else None
            if res is None:
                continue  # e.g. a DELETE request or a search outcome without resource
            own = {"__self__": entry.get("fullUrl")} if isinstance(entry, dict) else {}
            self.add(f"{where} Bundle.entry[{index}]", res, {**urls, **own})

    @staticmethod
    def resolve(reference: str, urls: dict[str, str]) -> str:
        """The patient key a subject reference points to (the Patient id where it can be read)."""
        if reference in urls:
            return urls[reference]
        match = _PATIENT_REF.search(reference)
        return match.group(1) if match else reference

    def finish(self) -> None:
        self._flush()
        self.db.execute("CREATE INDEX res_pkey ON res(pkey, seq)")
        self.db.execute("CREATE INDEX unit_pkey ON unit(pkey, kind, seq)")
        self.db.commit()
        self._finished = True

    def shared(self, rtype: str, rid: str) -> dict | None:
        row = self.db.execute("SELECT body FROM shared WHERE rtype=? AND rid=?", (rtype, rid)).fetchone()
        return json.loads(row[0]) if row else None

    def units(self) -> Iterator[Unit]:
        """Patients in input order: each Patient, then each dangling reference at its first use.

        The selection is done in SQL so that no per-patient set grows in Python memory.
        """
        if not self._finished:
            self.finish()
        cursor = self.db.execute(_UNITS)
        for kind, key, loc, message, body, duplicate in cursor:
            if kind == "bad":
                yield Unit("bad", key, loc, message)
                continue
            unit = Unit("duplicate" if duplicate else kind, key, loc, message, json.loads(body) if body else None)
            if not duplicate:
                unit.resources = [(where, json.loads(res)) for where, res in self.db.execute(
                    "SELECT loc, body FROM res WHERE pkey=? ORDER BY seq", (key,))]
            yield unit


_UNITS = """
SELECT u.kind, u.pkey, u.loc, u.message, u.body,
       u.kind = 'patient' AND u.seq > (SELECT MIN(p.seq) FROM unit p WHERE p.kind = 'patient' AND p.pkey = u.pkey)
FROM unit u
WHERE u.kind IN ('patient', 'bad')
   OR (u.kind = 'missing'
       AND NOT EXISTS (SELECT 1 FROM unit p WHERE p.kind = 'patient' AND p.pkey = u.pkey)
       AND u.seq = (SELECT MIN(m.seq) FROM unit m WHERE m.kind = 'missing' AND m.pkey = u.pkey))
ORDER BY u.seq
"""


_STU3_MARKERS = (
    ("Condition", "patient", object, "DSTU2: Condition.patient exists only in DSTU2 (R4: subject)"),
    ("MedicationOrder", "id", object, "DSTU2: MedicationOrder exists only in DSTU2 (R4: MedicationRequest)"),
    ("Condition", "clinicalStatus", str, "Condition.clinicalStatus is a plain code (a CodeableConcept in R4)"),
    ("Condition", "verificationStatus", str, "Condition.verificationStatus is a plain code (a CodeableConcept in R4)"),
    ("Condition", "assertedDate", object, "Condition.assertedDate exists only in STU3"),
    ("Observation", "context", object, "Observation.context exists only in STU3 (R4: encounter)"),
    ("Observation", "comment", object, "Observation.comment exists only in STU3 (R4: note)"),
    ("MedicationRequest", "context", object, "MedicationRequest.context exists only in STU3 (R4: encounter)"),
    ("MedicationStatement", "taken", object, "MedicationStatement.taken exists only in STU3"),
    ("Procedure", "notPerformed", object, "Procedure.notPerformed exists only in STU3"),
    ("Procedure", "context", object, "Procedure.context exists only in STU3 (R4: encounter)"),
    ("Patient", "animal", object, "Patient.animal exists only in STU3"),
)
"""Elements whose presence or type shows a resource is FHIR STU3 (or DSTU2), not R4/R4B (structural, not clinical)."""


def foreign_version(resource: object) -> str | None:
    """Why a resource (or any entry of a Bundle) is not R4/R4B, or None."""
    if not isinstance(resource, dict):
        return None
    if resource.get("resourceType") == "Bundle":
        for entry in resource.get("entry") or []:
            found = foreign_version(entry.get("resource") if isinstance(entry, dict) else None)
            if found:
                return found
        return None
    version = resource.get("fhirVersion")
    if isinstance(version, str) and not version.startswith("4."):
        return f"fhirVersion is {version}"
    for rtype, element, kind, reason in _STU3_MARKERS:
        if resource.get("resourceType") == rtype and element in resource and isinstance(resource[element], kind):
            return f"{reason}; resource {rtype}/{resource.get('id', '?')}"
    return None


def _refuse(stage: Stage, where: str, reason: str) -> None:
    version = "DSTU2" if reason.startswith("DSTU2") else "STU3"
    reason = reason.removeprefix("DSTU2: ")
    stage.bad(where, f"{where}: this is FHIR {version}, not R4/R4B ({reason}); the file was not read. "
                     "Convert it to R4 (e.g. with the HL7 FHIR version converter) and run again")


def stage_path(path: Path, stage: Stage, strict: bool = True) -> None:
    """Stage a .json/.ndjson file, or every such file directly inside a folder (not recursive).

    ``strict``: an unreadable single file fails the run (InputError); when several inputs are
    read as one dataset, a bad file becomes a finding instead, so it cannot drop the others.
    """
    if path.is_dir():
        files = sorted(p for p in path.iterdir() if p.is_file() and p.suffix.lower() in (".json", ".ndjson"))
        if not files:
            raise InputError(str(path), None, "the folder has no .json or .ndjson FHIR files")
        # Patient files first, so patients keep the export's order even if Condition.ndjson sorts earlier
        files.sort(key=lambda p: (not p.name.lower().startswith("patient"), p.name))
        for file in files:
            _stage_file(file, stage, strict=False)
    else:
        _stage_file(path, stage, strict=strict)


def _stage_file(path: Path, stage: Stage, strict: bool) -> None:
    where = str(path)
    if path.stat().st_size == 0:
        if strict:
            raise InputError(where, None, "the file is empty")
        stage.bad(where, f"{where}: the file is empty")
        return
    if path.suffix.lower() == ".ndjson":
        with path.open(encoding="utf-8") as handle:  # a file holds one version: its first lines tell
            for number, line in enumerate(handle, start=1):
                if number > 50:
                    break
                try:
                    reason = foreign_version(json.loads(line)) if line.strip() else None
                except json.JSONDecodeError:
                    continue
                if reason:
                    _refuse(stage, where, reason)
                    return
        with path.open(encoding="utf-8") as handle:
            for number, line in enumerate(handle, start=1):
                if not line.strip():
                    continue
                try:
                    resource = json.loads(line)
                except json.JSONDecodeError as exc:
                    stage.bad(f"{where}:{number}", _json_error(where, exc, number - 1))
                    continue
                stage.add(f"{where}:{number}", resource)
        return
    try:
        with path.open(encoding="utf-8") as handle:
            document = json.load(handle)
    except json.JSONDecodeError as exc:
        if strict:
            raise InputError(where, exc.lineno, f"invalid JSON: {exc.msg} (line {exc.lineno}, column {exc.colno})") from exc
        stage.bad(where, _json_error(where, exc))
        return
    except UnicodeDecodeError as exc:
        if strict:
            raise InputError(where, None, f"not UTF-8 text ({exc.reason} at byte {exc.start})") from exc
        stage.bad(where, f"{where}: not UTF-8 text")
        return
    reason = foreign_version(document)
    if reason:
        _refuse(stage, where, reason)
        return
    stage.add(where, document)
