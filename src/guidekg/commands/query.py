"""``guidekg query NAME|FILE.rq``: SPARQL over the guideline and (optionally) assessed patients."""

from __future__ import annotations

from ..query import FORMATS, knowledge_graph, load_query, parse_binding, render, run_query
from ..recommend import recommend
from .common import add_reasoner, write_output


def add_parser(sub):
    p = sub.add_parser("query", help="run a named query from queries/ or an .rq file")
    p.add_argument("query", metavar="NAME|FILE.rq")
    p.add_argument("--data", nargs="*", default=[], metavar="INPUT", help="patients to assess and add to the graph")
    p.add_argument("--param", action="append", default=[], metavar="NAME=VALUE",
                   help="bind a query variable (VALUE: CURIE, <IRI> or literal); repeatable")
    p.add_argument("--format", choices=FORMATS, default="table")
    add_reasoner(p)
    return p


def run(args) -> int:
    bindings = {}
    for item in args.param:
        name, sep, value = item.partition("=")
        if not sep or not name:
            raise ValueError(f"--param expects NAME=VALUE, got '{item}'")
        bindings[name.lstrip("?")] = parse_binding(value)
    results = recommend(args.data, reasoner=args.reasoner) if args.data else []
    graph = knowledge_graph(results, args.reasoner)
    write_output(render(run_query(graph, load_query(args.query), bindings), args.format), None)
    return 0
