"""``guidekg push --endpoint URL``: upload ontology, shapes and assessed patients to a triple store."""

from __future__ import annotations

import json
import os
import sys

from .common import add_reasoner, write_output


def add_parser(sub):
    p = sub.add_parser("push", help="upload the knowledge graph (one named graph per module and patient) to a triple store")
    p.add_argument("--endpoint", required=True,
                   help="Graph Store Protocol URL (gsp, e.g. http://host:8890/sparql-graph-crud-auth) or SPARQL Update URL (update)")
    p.add_argument("--protocol", choices=("gsp", "update"), default="gsp")
    p.add_argument("--graph", metavar="IRI", help="put everything into this one graph instead of one graph per module and patient")
    p.add_argument("--data", nargs="*", default=[], metavar="INPUT", help="patients to assess and push with their inferences")
    add_reasoner(p)
    p.add_argument("--user")
    p.add_argument("--password", default=os.environ.get("GUIDEKG_PUSH_PASSWORD"), help="default: $GUIDEKG_PUSH_PASSWORD")
    p.add_argument("--auth", choices=("digest", "basic"), default="digest", help="HTTP authentication scheme (default digest, as Virtuoso uses)")
    p.add_argument("--batch-size", type=int, default=10_000, metavar="N", help="triples per request (default 10000)")
    p.add_argument("--retries", type=int, default=4, help="retries of a request on 5xx or connection errors (default 4)")
    p.add_argument("--no-shapes", action="store_true", help="do not push the SHACL shapes")
    p.add_argument("--verify", action="store_true", help="read each graph back (gsp) and compare triple counts")
    p.add_argument("--format", choices=("text", "json"), default="text", help="report format")
    return p


def run(args) -> int:
    from ..push import PushError, push

    try:
        report = push(args.data, args.endpoint, reasoner=args.reasoner, graph=args.graph, shapes=not args.no_shapes,
                      protocol=args.protocol, user=args.user, password=args.password, auth=args.auth,
                      batch_size=args.batch_size, retries=args.retries, verify=args.verify)
    except PushError as exc:
        print(f"guidekg: push failed: {exc}", file=sys.stderr)
        return 2
    write_output(json.dumps(report.as_dict(), indent=2) if args.format == "json" else report.summary(), None)
    mismatched = any(g.verified is not None and g.verified != g.triples for g in report.graphs)
    return 1 if mismatched else 0
