"""Regenerate ``examples/fhir/`` from ``examples/patients.csv``.

Run from the repository root: ``python -m guidekg.tools.make_fhir_examples``. Writes one
mCODE patient Bundle per example patient (``examples/fhir/<patient_id>.json``), a Bulk Data
export of the same patients (``examples/fhir/bulk/<ResourceType>.ndjson``), the project
CodeSystem (``examples/fhir/codesystem-guidekg.json``, from ``ontology/codesystem.ttl``) and the
DetectedIssue CodeSystem that ``--format fhir`` codes its alerts with
(``examples/fhir/codesystem-guidekg-detected-issue.json``, from the ontology's alerts).
The CSV stays the single source; tests check that all forms give identical results.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from ..export.fhir_issues import detected_issue_codesystem
from ..export.fhir_patient import bulk_lines, codesystem_resource, patient_bundle, validated
from ..ingest import read_patients


def write_examples(csv_path: Path, out: Path) -> list[Path]:
    """Write the Bundles, the bulk export and the CodeSystem; returns the files written."""
    records = [r for r in read_patients([csv_path]) if not r.ingest_failed]
    out.mkdir(parents=True, exist_ok=True)
    (out / "bulk").mkdir(exist_ok=True)
    for stale in list(out.glob("*.json")) + list((out / "bulk").glob("*.ndjson")):
        stale.unlink()
    written: list[Path] = []
    for record in records:
        path = out / f"{record.patient_id}.json"
        path.write_text(json.dumps(patient_bundle(record), indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
        written.append(path)
    for rtype, lines in sorted(bulk_lines(records).items()):
        path = out / "bulk" / f"{rtype}.ndjson"
        path.write_text("\n".join(lines) + "\n", encoding="utf-8")
        written.append(path)
    for name, resource in (("codesystem-guidekg.json", codesystem_resource()),
                           ("codesystem-guidekg-detected-issue.json", validated(detected_issue_codesystem()))):
        path = out / name
        path.write_text(json.dumps(resource, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
        written.append(path)
    return written


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--csv", default="examples/patients.csv", type=Path)
    parser.add_argument("--out", default="examples/fhir", type=Path)
    args = parser.parse_args(argv)
    for path in write_examples(args.csv, args.out):
        print(path)


if __name__ == "__main__":
    main()
