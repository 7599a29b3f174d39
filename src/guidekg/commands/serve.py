"""``guidekg serve``: the SPARQL endpoint and recommendation API (argument parsing only)."""

from __future__ import annotations

import os

from .common import add_reasoner


def add_parser(sub):
    p = sub.add_parser("serve", help="serve a SPARQL 1.1 endpoint (/sparql) and a recommendation API (/recommend)")
    p.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1: this machine only)")
    p.add_argument("--port", type=int, default=8000)
    p.add_argument("--data", nargs="*", default=[], metavar="INPUT", help="patients to assess and serve, one named graph each")
    add_reasoner(p)
    p.add_argument("--allow-update", action="store_true", help="accept SPARQL Update from clients that send --api-key")
    p.add_argument("--api-key", default=os.environ.get("GUIDEKG_API_KEY"),
                   help="key clients send as X-API-Key or 'Authorization: Bearer' (default: $GUIDEKG_API_KEY)")
    p.add_argument("--query-timeout", type=float, default=10.0, metavar="S", help="stop a query after S seconds (default 10)")
    p.add_argument("--recommend-timeout", type=float, default=60.0, metavar="S", help="stop an assessment after S seconds (default 60)")
    p.add_argument("--max-results", type=int, default=100_000, metavar="N", help="refuse results with more rows/triples (default 100000)")
    p.add_argument("--max-body", type=int, default=5 * 1024 * 1024, metavar="BYTES", help="refuse larger requests (default 5 MiB)")
    p.add_argument("--workers", type=int, default=max(2, os.cpu_count() or 2),
                   help="worker processes answering SPARQL (default: CPU count, at least 2)")
    p.add_argument("--assess-workers", type=int, default=1, help="worker processes answering /recommend (default 1)")
    return p


def run(args) -> int:
    from ..server.app import serve
    from ..server.limits import ServerConfig

    config = ServerConfig(data=list(args.data), reasoner=args.reasoner, allow_update=args.allow_update, api_key=args.api_key,
                          query_timeout=args.query_timeout, recommend_timeout=args.recommend_timeout,
                          max_results=args.max_results, max_body=args.max_body, workers=args.workers,
                          assess_workers=args.assess_workers)
    serve(config, host=args.host, port=args.port)
    return 0
