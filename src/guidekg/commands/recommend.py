"""``guidekg recommend INPUT...``: assess patients and print the recommendations."""

from __future__ import annotations

from ..recommend import exit_code, recommend
from .common import add_reasoner, write_output

FORMATS = ("table", "json", "turtle", "jsonld", "fhir")


def add_parser(sub):
    p = sub.add_parser("recommend", help="assess patients (CSV, Turtle/JSON-LD, FHIR) and print recommendations")
    p.add_argument("inputs", nargs="+", metavar="INPUT", help="CSV case sheet, RDF file, FHIR JSON/NDJSON or Bulk Data folder")
    p.add_argument("--format", choices=FORMATS, default="table")
    add_reasoner(p)
    p.add_argument("--explain", action="store_true", help="say which facts put the patient in each class, and each recommendation's evidence trail")
    p.add_argument("--out", help="write to this file instead of standard output")
    return p


def run(args) -> int:
    results = recommend(args.inputs, reasoner=args.reasoner, explain=args.explain)
    if args.format == "json":
        from ..export.json import render_json

        text = render_json(results, explain=args.explain)
    elif args.format in ("turtle", "jsonld"):
        from ..export.rdf import render_rdf

        text = render_rdf(results, args.reasoner, "turtle" if args.format == "turtle" else "json-ld")
    elif args.format == "fhir":
        from ..export.fhir import render_fhir

        text = render_fhir(results)
    else:
        from ..export.table import render_table

        text = render_table(results)
    write_output(text, args.out)
    return exit_code(results)
