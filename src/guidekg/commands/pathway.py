"""``guidekg pathway``: draw the care pathway (SVG), optionally showing where a patient stands and what is next."""

from __future__ import annotations

import sys
from pathlib import Path

from .. import resources
from ..namespaces import GK
from ..pathway import EXIT, build_pathway, draw_pathway, standalone
from .common import add_reasoner


def add_parser(sub):
    p = sub.add_parser("pathway", help="draw the care pathway (SVG); with --patient, where the patient stands and the next step")
    p.add_argument("--patient", metavar="INPUT", help="a patient file (CSV, RDF, FHIR); the first patient unless --id")
    p.add_argument("--id", help="patient id to show when the input holds several")
    p.add_argument("--out", default="pathway.svg", metavar="FILE.svg")
    add_reasoner(p)
    return p


def next_steps(result, path) -> tuple[list[str], list[str], str]:
    """(now, next, where next came from): the decision layer's headline when it has one, else the pathway's own."""
    now, upcoming = path.position(result.classes, result.record.values(str(GK.treatmentPhase)))
    headline = result.as_json().get("headline")
    if isinstance(headline, dict) and headline.get("next_steps"):
        steps = [f"{s['label']} ({s['id']})" if isinstance(s, dict) else str(s) for s in headline["next_steps"]]
        return now, steps, "decision layer (headline.next_steps)"
    return now, upcoming, "pathway position (classes and treatment phase)"


def run(args) -> int:
    out = Path(args.out)
    if out.suffix.lower() != ".svg":
        raise ValueError(f"--out {out}: the pathway is drawn as SVG, so the file must end in .svg")
    path = build_pathway(resources.shared_graph("ontology", *resources.ONTOLOGY_MODULES))
    now: list[str] = []
    upcoming: list[str] = []
    title = "Care pathway"
    if args.patient:
        from ..recommend import recommend

        results = recommend([args.patient], reasoner=args.reasoner)
        chosen = [r for r in results if args.id in (None, r.record.patient_id)]
        if not chosen:
            raise ValueError(f"no patient '{args.id}' in {args.patient}")
        result = chosen[0]
        title = f"Care pathway: {result.record.patient_id}"
        if result.status != "ok":
            print(f"{result.record.patient_id} ({result.status}): no position on the pathway until the record is corrected")
        else:
            now, upcoming, origin = next_steps(result, path)
            label = lambda s: "out of scope (use other guidance)" if s == EXIT else path.graph.nodes[s]["label"] if s in path.graph else s  # noqa: E731
            print(f"{result.record.patient_id} ({result.status}): now at {', '.join(label(s) for s in now) or 'no step'}; "
                  f"next: {', '.join(label(s) for s in upcoming) or 'nothing further on this pathway'} [from {origin}]")
            now = now + [c for c in path.branches.get(now[0], []) if c in {str(x).replace(str(GK), 'gk:') for x in result.classes}] if now else now
    out.write_text(standalone(draw_pathway(path, now, title, upcoming)["svg"].decode("utf-8")), encoding="utf-8")
    print(f"wrote {out}", file=sys.stderr)
    return 0
