"""Read patients from files: CSV and Parquet case sheets, RDF (Turtle, N-Triples, JSON-LD) and FHIR.

Every reader yields :class:`~guidekg.model.PatientRecord` objects in input order. A problem
with one patient becomes a finding on that record (it is reported 'invalid', never
dropped); a problem with the file as a whole raises :class:`InputError` naming the file.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from pathlib import Path

from ..model import Finding, PatientRecord
from .errors import InputError

RDF_SUFFIXES = {".ttl": "turtle", ".nt": "nt", ".jsonld": "json-ld", ".json-ld": "json-ld", ".rdf": "xml", ".owl": "xml", ".n3": "n3"}

__all__ = ["InputError", "read_patients", "read_file"]


def read_file(path: Path) -> Iterator[PatientRecord]:
    """Patients of one input, chosen by suffix (a folder is read as a FHIR Bulk Data export)."""
    if not path.exists():
        raise InputError(str(path), None, "file not found")
    suffix = path.suffix.lower()
    if is_fhir(path):
        try:
            from .fhir import read_fhir
        except ImportError as exc:  # pragma: no cover - FHIR ingest is optional at import time
            raise InputError(str(path), None, f"FHIR input is not available: {exc}") from exc
        yield from read_fhir(path)
    elif suffix == ".csv":
        from .casesheet import read_csv

        yield from read_csv(path)
    elif suffix == ".parquet":
        from .parquet import read_parquet

        yield from read_parquet(path)
    elif suffix in RDF_SUFFIXES:
        from .rdf import read_rdf

        yield from read_rdf(path, RDF_SUFFIXES[suffix])
    else:
        raise InputError(str(path), None, f"unknown input type '{suffix}'; use .csv, .parquet, {', '.join(sorted(RDF_SUFFIXES))}, FHIR .json/.ndjson or a Bulk Data folder")


def is_fhir(path: Path) -> bool:
    return path.is_dir() or path.suffix.lower() in {".json", ".ndjson"}


def input_units(paths: Iterable[str | Path]) -> Iterator[Path | list[Path]]:
    """The units to read, in input order: one path, or all FHIR inputs as one list at the first one.

    FHIR resources given in separate files or folders must reach their patient by reference,
    so every front end (whole-file reader, streaming batch) reads them together.
    """
    items = [Path(p) for p in paths]
    fhir = [p for p in items if p.exists() and is_fhir(p)]
    for path in items:
        if path in fhir and len(fhir) > 1:
            if path == fhir[0]:
                yield fhir
            continue
        yield path


def read_unit(unit: Path | list[Path]) -> Iterator[PatientRecord]:
    """Patients of one unit from :func:`input_units`."""
    if isinstance(unit, list):
        from .fhir import read_fhir

        yield from read_fhir(unit)
    else:
        yield from read_file(unit)


def _inputs(paths: Iterable[str | Path]) -> Iterator[PatientRecord]:
    """Each input in order; all FHIR inputs (any mix of files and folders) as one dataset, at the first one."""
    for unit in input_units(paths):
        yield from read_unit(unit)


def read_patients(paths: Iterable[str | Path]) -> Iterator[PatientRecord]:
    """All patients of all inputs in order; a patient id seen twice makes the later record invalid.

    FHIR inputs are joined: resources given in separate files or folders reach their patient
    by reference, wherever the Patient resource is.
    """
    seen: dict[str, str] = {}
    for record in _inputs(paths):
        first = seen.get(record.iri)
        if first is not None:
            record.findings.append(Finding(
                f"duplicate patient id '{record.patient_id}' (first seen at {first})",
                path="patient_id", source=str(record.source)))
        else:
            seen[record.iri] = str(record.source)
        yield record
