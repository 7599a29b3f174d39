"""``guidekg review``: the guideline-authoring report (exit 1 when any open ERROR finding)."""

from __future__ import annotations

from ..review import run_review
from ..review.report import render
from .common import add_reasoner, write_output


def add_parser(sub):
    p = sub.add_parser("review", help="check the guideline itself: encoding, logic, coverage, evidence, pathway")
    p.add_argument("--format", choices=("html", "md", "json", "csv", "tsv"), default="html",
                   help="csv/tsv: ROBOT report columns (Level, Rule Name, Subject, Property, Value) then id, status, message, fix")
    p.add_argument("--out", help="write the report to this file instead of standard output")
    p.add_argument("--ontology", help="guideline to review: a folder of .ttl modules or one file (default: the packaged one)")
    p.add_argument("--against", metavar="OLD", help="an older ontology folder or file to diff against")
    p.add_argument("--waivers", metavar="CSV", help="accepted findings (id,reason,who,date); default: review-waivers.csv beside the ontology")
    add_reasoner(p)
    return p


def run(args) -> int:
    review = run_review(args.ontology, against=args.against, reasoner=args.reasoner, waivers=args.waivers)
    write_output(render(review, args.format), args.out)
    return review.exit_code
