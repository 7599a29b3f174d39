"""``guidekg audit COHORT... --out DIR``: guideline concordance across a cohort (CSV + HTML)."""

from __future__ import annotations

import sys

from .common import add_reasoner


def add_parser(sub):
    p = sub.add_parser("audit", help="guideline concordance across a cohort, from the plan verdicts (CSV + HTML report)")
    p.add_argument("inputs", nargs="+", metavar="COHORT", help="CSV or Parquet case sheet, RDF or FHIR inputs (JSON, Bulk Data NDJSON or folder)")
    p.add_argument("--out", required=True, metavar="DIR", help="folder for audit.csv and audit.html")
    p.add_argument("--by", metavar="COLUMN", help="group by this column of the --groups file (a centre, a year ...)")
    p.add_argument("--groups", metavar="FILE.csv", help="CSV with patient_id and the --by column (the case sheet refuses unknown columns)")
    add_reasoner(p)
    p.add_argument("--workers", type=int, default=1, metavar="N", help="worker processes (default 1)")
    p.add_argument("--chunk-size", type=int, default=2000, metavar="N", help="patients per chunk")
    p.add_argument("--engine", choices=("local", "spark"), default="local",
                   help="spark: count the chunks on Spark executors (compiled engine; pip install 'guidekg[spark]')")
    p.add_argument("--master", metavar="URL", help="Spark master (default local[*]); with --engine spark")
    return p


def run(args) -> int:
    from ..audit import read_groups, run_audit
    from ..audit.report import write_report
    from .recommend import engine_mapper

    if bool(args.by) != bool(args.groups):
        raise ValueError("--by COLUMN and --groups FILE.csv go together: the column is read from the groups file")
    groups = read_groups(args.groups, args.by) if args.groups else None
    result = run_audit(args.inputs, groups=groups, by=args.by, reasoner=args.reasoner, workers=args.workers,
                       chunk_size=args.chunk_size, mapper=engine_mapper(args))
    csv_path, html_path = write_report(result, args.out)
    totals = result.tally["patients"].get(("all",), {})
    sys.stderr.write(f"guidekg: audited {totals.get('patients', 0):,} patients ({totals.get('invalid', 0):,} invalid): "
                     f"{csv_path}, {html_path}\n")
    return 0
