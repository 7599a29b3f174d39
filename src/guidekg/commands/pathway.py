"""``guidekg pathway``: draw the care pathway, optionally showing where a patient stands."""

from __future__ import annotations

import sys
from pathlib import Path

from .. import resources
from ..pathway import build_pathway, draw_pathway
from .common import add_reasoner


def add_parser(sub):
    p = sub.add_parser("pathway", help="draw the care pathway (SVG or PNG); with --patient, where the patient stands")
    p.add_argument("--patient", metavar="INPUT", help="a patient file (CSV, RDF, FHIR); the first patient unless --id")
    p.add_argument("--id", help="patient id to show when the input holds several")
    p.add_argument("--out", default="pathway.svg", metavar="FILE.svg|png")
    add_reasoner(p)
    return p


def run(args) -> int:
    path = build_pathway(resources.shared_graph("ontology", *resources.ONTOLOGY_MODULES))
    current: list[str] = []
    title = "Care pathway"
    if args.patient:
        from ..recommend import recommend

        results = recommend([args.patient], reasoner=args.reasoner)
        chosen = [r for r in results if args.id in (None, r.record.patient_id)]
        if not chosen:
            raise ValueError(f"no patient '{args.id}' in {args.patient}")
        result = chosen[0]
        current = path.steps_of(result.classes)
        title = f"Care pathway: {result.record.patient_id}"
        print(f"{result.record.patient_id} ({result.status}): now at {', '.join(current) or 'no step'}; "
              f"next: {', '.join(path.next_steps(current)) or 'nothing further'}")
    out = Path(args.out)
    fmt = out.suffix.lower().lstrip(".")
    if fmt not in ("svg", "png"):
        raise ValueError("--out must end in .svg or .png")
    out.write_bytes(draw_pathway(path, current, title)[fmt])
    print(f"wrote {out}", file=sys.stderr)
    return 0
