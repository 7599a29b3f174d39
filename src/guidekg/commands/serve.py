"""``guidekg serve``: the SPARQL endpoint and recommendation API (argument parsing only)."""

from __future__ import annotations

import os
import sys
from pathlib import Path

from .common import add_reasoner


def add_parser(sub):
    p = sub.add_parser("serve", help="serve a SPARQL 1.1 endpoint (/sparql) and a recommendation API (/recommend)")
    p.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1: this machine only)")
    p.add_argument("--port", type=int, default=8000)
    p.add_argument("--data", nargs="*", default=[], metavar="INPUT", help="patients to assess and serve, one named graph each")
    add_reasoner(p)
    p.add_argument("--allow-update", action="store_true",
                   help="accept SPARQL Update from clients that send the API key ($GUIDEKG_API_KEY or --api-key-file)")
    p.add_argument("--api-key-file", metavar="PATH",
                   help="file holding the key clients send as X-API-Key or 'Authorization: Bearer' (default: $GUIDEKG_API_KEY)")
    p.add_argument("--api-key", help="deprecated: a key on the command line is visible to every user in `ps`; "
                                     "use $GUIDEKG_API_KEY or --api-key-file")
    p.add_argument("--query-timeout", type=float, default=10.0, metavar="S", help="stop a query after S seconds (default 10)")
    p.add_argument("--recommend-timeout", type=float, default=60.0, metavar="S", help="stop an assessment after S seconds (default 60)")
    p.add_argument("--max-results", type=int, default=100_000, metavar="N", help="refuse results with more rows/triples (default 100000)")
    p.add_argument("--max-body", type=int, default=5 * 1024 * 1024, metavar="BYTES", help="refuse larger requests (default 5 MiB)")
    p.add_argument("--workers", type=int, default=max(2, os.cpu_count() or 2),
                   help="worker processes answering SPARQL (default: CPU count, at least 2)")
    p.add_argument("--assess-workers", type=int, help="worker processes answering /recommend, forked from one warm "
                                                       "process that holds the compiled knowledge (default: one per CPU)")
    p.add_argument("--max-response-bytes", type=int, default=16 * 1024 * 1024, metavar="BYTES",
                   help="stop a query whose answer grows past this size (default 16 MiB)")
    p.add_argument("--worker-memory", type=int, default=2 * 1024**3, metavar="BYTES",
                   help="memory one SPARQL worker may use before it is stopped and replaced (default 2 GiB)")
    p.add_argument("--per-client", type=int, metavar="N", help="requests one client address may have running (default: workers/2)")
    p.add_argument("--allowed-host", action="append", metavar="NAME",
                   help="accept this Host header (repeatable; '*' for any; default: 127.0.0.1, localhost, ::1)")
    p.add_argument("--cors-origin", action="append", default=[], metavar="ORIGIN",
                   help="let browser pages from ORIGIN call the API (repeatable; default: none)")
    p.add_argument("--cds-fhir-server", action="append", default=[], metavar="URL",
                   help="FHIR server base URL the CDS Hooks service may read missing prefetch data from, with the "
                        "request's fhirAuthorization token (repeatable; '*' for any; default: none, prefetch only)")
    return p


def api_key(args) -> str | None:
    """The update key: --api-key-file, else $GUIDEKG_API_KEY, else the deprecated --api-key (with a warning)."""
    if args.api_key_file:
        try:
            key = Path(args.api_key_file).read_text(encoding="utf-8").strip()
        except OSError as exc:
            raise SystemExit(f"guidekg serve: cannot read --api-key-file: {exc}") from exc
        if not key:
            raise SystemExit(f"guidekg serve: {args.api_key_file} is empty")
        return key
    if args.api_key:
        print("guidekg serve: warning: --api-key puts the key in the process list (anyone can read it with `ps`); use $GUIDEKG_API_KEY or --api-key-file",
              file=sys.stderr)
        return args.api_key
    return os.environ.get("GUIDEKG_API_KEY") or None


def run(args) -> int:
    from ..server.app import serve
    from ..server.limits import LOOPBACK_HOSTS, ServerConfig, default_assess_workers

    config = ServerConfig(data=list(args.data), reasoner=args.reasoner, allow_update=args.allow_update, api_key=api_key(args),
                          query_timeout=args.query_timeout, recommend_timeout=args.recommend_timeout,
                          max_results=args.max_results, max_body=args.max_body, workers=args.workers,
                          assess_workers=default_assess_workers() if args.assess_workers is None else args.assess_workers, max_response_bytes=args.max_response_bytes,
                          per_client=args.per_client, worker_memory=args.worker_memory, allowed_hosts=args.allowed_host or list(LOOPBACK_HOSTS),
                          cors_origins=args.cors_origin, cds_fhir_servers=args.cds_fhir_server)
    serve(config, host=args.host, port=args.port)
    return 0
