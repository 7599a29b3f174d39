"""``guidekg mutate``: mutation testing of the guideline content against the expectation corpus."""

from __future__ import annotations

import json
import sys


def add_parser(sub):
    p = sub.add_parser("mutate", help="mutate the ontology and shapes and report mutants no expectation kills")
    p.add_argument("--json", action="store_true", help="machine-readable report")
    p.add_argument("--only", metavar="TEXT", help="only mutants whose key contains TEXT")
    p.add_argument("--all", action="store_true", help="list every mutant, not only the unexplained survivors")
    return p


def run(args) -> int:
    from ..mutation import run as mutate

    report = mutate(select=(lambda m: args.only in m.key) if args.only else None)
    summary = report.summary()
    if args.json:
        summary["outcomes"] = [{"mutant": o.mutant.key, "status": o.status, "by": o.by,
                                "equivalent": report.equivalent.get(o.mutant.key)}
                               for o in report.outcomes if args.all or o.status != "killed"]
        print(json.dumps(summary, indent=2, ensure_ascii=False))
    else:
        print(f"{summary['mutants']} mutants: {summary['killed']} killed, {summary['survived']} survived "
              f"({summary['equivalent']} listed as equivalent), {summary['stillborn']} stillborn; "
              f"{summary['corpus_cases']} cases, {summary['seconds']} s")
        for o in report.outcomes:
            if args.all or (o.status == "survived" and o.mutant.key not in report.equivalent):
                print(f"  {o.status.upper():9} {o.mutant.key}" + (f"  [{o.by}]" if o.by else ""))
        for key in summary["stale_equivalents"]:
            print(f"  STALE     {key} (listed as equivalent but killed or no longer generated)", file=sys.stderr)
    return 1 if summary["unexplained"] else 0
