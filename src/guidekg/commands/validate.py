"""``guidekg validate INPUT...``: SHACL findings per patient, no reasoning."""

from __future__ import annotations

import json

from ..ingest import read_patients
from ..validate import validate_records
from .common import write_output


def add_parser(sub):
    p = sub.add_parser("validate", help="check patient data against the SHACL shapes (data and safety)")
    p.add_argument("inputs", nargs="+", metavar="INPUT")
    p.add_argument("--format", choices=("table", "json"), default="table")
    p.add_argument("--engine", choices=("compiled", "pyshacl"), default="compiled",
                   help="compiled: the shapes as Python checks (fast, proven equal to pySHACL); pyshacl: the reference")
    return p


def run(args) -> int:
    records = list(read_patients(args.inputs))
    readable = [r for r in records if not r.ingest_failed]
    if args.engine == "pyshacl":
        shacl = validate_records(readable)
    else:
        from ..fastvalidate import validate_fast

        shacl = validate_fast(readable)
    rows = []
    failed = False
    for record in records:
        findings = record.findings + shacl.get(record.iri, [])
        failed = failed or any(f.severity == "violation" for f in findings)
        rows.append({"patient": record.patient_id, "source": str(record.source),
                     "conforms": not any(f.severity == "violation" for f in findings),
                     "findings": [dict(f.as_dict(), alert=f.alert) for f in findings]})
    if args.format == "json":
        write_output(json.dumps(rows, indent=2, ensure_ascii=False), None)
    else:
        lines = []
        for row in rows:
            lines.append(f"{row['patient']} ({row['source']}): {'conforms' if row['conforms'] else 'INVALID'}")
            for f in row["findings"]:
                lines.append(f"   {f['severity']}: {f['path'] + ': ' if f['path'] else ''}{f['message']}")
        write_output("\n".join(lines), None)
    return 1 if failed else 0
