"""The HTTP front: SPARQL 1.1 Protocol at ``/sparql``, ``POST /recommend``, ``GET /health``.

This module only speaks HTTP: it reads and limits request bodies, checks the update key,
and hands every query, update and assessment to the worker pool (:mod:`.pool`), which runs
it in a separate process under a time limit. The event loop never evaluates SPARQL or runs
a reasoner itself, so a slow request cannot stall the others.

Protocol: https://www.w3.org/TR/sparql11-protocol/ (query via GET, POST form, POST direct;
update via POST form or direct), Service Description at ``GET /sparql`` with no query.

In front of every route: the Host header must name this server (loopback names by default,
``--allowed-host``), browsers from other origins get no CORS grant unless ``--cors-origin``
lists them, and each client (address) has at most ``per_client`` requests running, the rest
queued up to ``client_queue_timeout`` (:class:`.limits.ClientGate`).
"""

from __future__ import annotations

import asyncio
import shutil
import tempfile
from contextlib import asynccontextmanager
from importlib import resources as importlib_resources
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

from fastapi import FastAPI, Request
from fastapi.middleware.cors import CORSMiddleware
from fastapi.responses import JSONResponse, PlainTextResponse, Response
from rdflib import Graph, URIRef
from starlette.datastructures import Headers

from .. import __version__
from .assess import INPUT_TYPES
from .cds import Cases, mount_cds
from .dataset import knowledge_dataset, named_graphs
from .limits import BodyTooLarge, ClientGate, ServerConfig, host_allowed, read_body, update_refusal
from .mdt import mount_mdt
from .pool import WorkerPool
from .results import NotAcceptable, negotiate
from .sparql import QueryRequest, Reply, UpdateRequest
from .store import Snapshots
from .worker import RecommendRequest, WorkerSettings

SD = "http://www.w3.org/ns/sparql-service-description#"
DESCRIPTION_TYPES = {"text/turtle": "turtle", "application/n-triples": "nt", "application/ld+json": "json-ld",
                     "application/rdf+xml": "xml"}
QUERY_BODY = {"content": {"application/sparql-query": {"schema": {"type": "string"}},
                          "application/sparql-update": {"schema": {"type": "string"}},
                          "application/x-www-form-urlencoded": {"schema": {"type": "object", "properties": {
                              "query": {"type": "string"}, "update": {"type": "string"},
                              "default-graph-uri": {"type": "array", "items": {"type": "string"}},
                              "named-graph-uri": {"type": "array", "items": {"type": "string"}}}}}}}
RECOMMEND_BODY = {"content": {media: {"schema": {"type": "string"}} for media in INPUT_TYPES}}


def build_dataset_file(config: ServerConfig, folder: Path) -> tuple[Path, dict[str, int]]:
    """Assess ``config.data`` and write the served dataset as N-Quads (what the store is built from)."""
    results = []
    if config.data:
        from ..recommend import recommend

        results = recommend(config.data, reasoner=config.reasoner)
    dataset = knowledge_dataset(results, config.reasoner)
    path = folder / "dataset.nq"
    dataset.serialize(destination=str(path), format="nquads")
    graphs = named_graphs(dataset)
    return path, {"patients": len(results), "graphs": len(graphs), "triples": sum(len(g) for g in graphs)}


def _media_type(request: Request) -> str:
    return request.headers.get("content-type", "").split(";")[0].strip().lower()


def _response(reply: Reply) -> Response:
    return Response(content=reply.body, status_code=reply.status, media_type=reply.media_type, headers=reply.headers)


def _text(status: int, message: str) -> Response:
    return _response(Reply.text(status, message))


def _client(request: Request) -> str:
    return request.client.host if request.client else "unknown"


class HostCheck:
    """Refuse (421) a request whose Host header does not name this server (DNS rebinding).

    A plain ASGI middleware: Starlette's ``@app.middleware("http")`` wraps every request and
    response in extra tasks and streams, about a third of the front's time per /recommend."""

    def __init__(self, app: Any, allowed: list[str]) -> None:
        self.app, self.allowed = app, allowed

    async def __call__(self, scope: dict, receive: Any, send: Any) -> None:
        if scope["type"] == "http":
            host = Headers(scope=scope).get("host")
            if not host_allowed(host, self.allowed):
                response = PlainTextResponse(f"the Host header {host!r} does not name this server (allowed: "
                                             f"{', '.join(self.allowed)}; see --allowed-host)\n", status_code=421)
                await response(scope, receive, send)
                return
        await self.app(scope, receive, send)


def create_app(config: ServerConfig) -> FastAPI:
    """The application; assesses ``config.data`` and builds the store now, starts the workers when the server starts."""
    config.check()
    folder = Path(tempfile.mkdtemp(prefix="guidekg-serve-"))
    snapshots = Snapshots(folder)
    try:
        dataset_path, info = build_dataset_file(config, folder)
        snapshots.build(dataset_path)
        dataset_path.unlink()
    except BaseException:
        shutil.rmtree(folder, ignore_errors=True)
        raise

    def settings(role: str) -> WorkerSettings:
        return WorkerSettings(str(folder), role, config.reasoner, config.max_results, config.max_response_bytes,
                              config.isolate_network, config.worker_memory)

    pool = WorkerPool(settings("query"), snapshots, size=config.workers, queue_timeout=max(config.query_timeout, 5.0))
    assessors = WorkerPool(settings("assess"), snapshots, size=config.assess_workers, queue_timeout=config.recommend_timeout)
    writer = WorkerPool(settings("writer"), snapshots, size=1, queue_timeout=max(config.query_timeout, 5.0)) \
        if config.allow_update else None
    pools = {"sparql": pool, "recommend": assessors, **({"update": writer} if writer else {})}
    gate = ClientGate(config.client_limit, config.client_queue_timeout)
    template = importlib_resources.files("guidekg.server").joinpath("service_description.ttl").read_text(encoding="utf-8")

    @asynccontextmanager
    async def lifespan(_: FastAPI):
        await asyncio.gather(*(p.start() for p in pools.values()))
        try:
            yield
        finally:
            await asyncio.gather(*(p.close() for p in pools.values()))
            shutil.rmtree(folder, ignore_errors=True)

    app = FastAPI(title="guidekg", version=__version__, lifespan=lifespan,
                  description="SPARQL 1.1 endpoint over the guideline knowledge graph and a treatment recommendation API.")
    app.state.config, app.state.pool, app.state.assessors, app.state.info = config, pool, assessors, info
    app.state.folder = folder  # removed when the server stops (tests that never start it remove it themselves)
    if config.cors_origins:
        app.add_middleware(CORSMiddleware, allow_origins=config.cors_origins, allow_methods=["GET", "POST"],
                           allow_headers=["Content-Type", "Accept", "Authorization", "X-API-Key"],
                           expose_headers=["X-Result-Count"])

    app.add_middleware(HostCheck, allowed=config.allowed_hosts)

    async def dispatch(request: Request, target: WorkerPool, payload: object, timeout: float, what: str) -> Reply:
        try:
            async with gate.slot(_client(request)):
                return await target.call(payload, timeout, what)
        except TimeoutError:
            return Reply(503, "text/plain; charset=utf-8",
                         (f"this client already has {config.client_limit} requests running and this one waited "
                          f"{config.client_queue_timeout:g} s for one of them to finish; try again later\n").encode(),
                         {"Retry-After": "5"})

    def service_description(request: Request) -> Response:
        try:
            media = negotiate(request.headers.get("accept"), list(DESCRIPTION_TYPES))
        except NotAcceptable as exc:
            return _text(406, str(exc))
        endpoint = str(request.url.replace(query=""))
        graph = Graph().parse(data=template, format="turtle", publicID=endpoint)
        if config.allow_update:
            graph.add((URIRef(endpoint + "#service"), URIRef(SD + "supportedLanguage"), URIRef(SD + "SPARQL11Update")))
        graph.bind("sd", SD)
        return Response(graph.serialize(format=DESCRIPTION_TYPES[media]), media_type=media)

    async def run_query(request: Request, query: str, default: list[str], named: list[str]) -> Response:
        payload = QueryRequest(query, request.headers.get("accept"), tuple(default), tuple(named))
        return _response(await dispatch(request, pool, payload, config.query_timeout, "query"))

    async def run_update(request: Request, update: str, params: dict[str, list[str]]) -> Response:
        refusal = update_refusal(config, request)
        if refusal:
            return _text(403, refusal)
        if params.get("using-graph-uri") or params.get("using-named-graph-uri"):
            return _text(400, "using-graph-uri and using-named-graph-uri are not supported; use USING/WITH in the update")
        assert writer is not None  # update_refusal refuses every update when there is no writer
        return _response(await dispatch(request, writer, UpdateRequest(update), config.query_timeout, "update"))

    @app.get("/health", summary="Readiness: which worker pools can answer, and what is being served")
    async def health() -> JSONResponse:
        stats = {name: p.stats for name, p in pools.items()}
        not_ready = [name for name, st in stats.items() if st.workers == 0]
        body: dict[str, Any] = {
            "status": "ok" if not not_ready else "not ready", "not_ready": not_ready, "version": __version__, **info,
            "workers": stats["sparql"].workers, "assess_workers": stats["recommend"].workers,
            "pools": {name: {"size": pools[name].size, "workers": st.workers, "idle": pools[name].idle, "starting": st.starting,
                             "busy_refusals": st.busy_refusals, "forked": st.forked, "ready": st.workers > 0} for name, st in stats.items()},
            "requests": sum(st.requests for st in stats.values()), "timeouts": sum(st.timeouts for st in stats.values()),
            "workers_replaced": sum(st.replaced for st in stats.values()),
            "updates": stats["update"].updates if "update" in stats else 0, "store_version": snapshots.current,
            "read_only": not config.allow_update,
            "network_isolated": all(bool(st.isolated) for st in stats.values())}
        return JSONResponse(body, status_code=200 if not not_ready else 503)

    @app.get("/sparql", summary="SPARQL query via GET; the Service Description when there is no query",
             response_class=Response)
    async def sparql_get(request: Request) -> Response:
        params = request.query_params
        if "update" in params:
            return _text(400, "SPARQL Update must be sent with POST (SPARQL 1.1 Protocol §2.2)")
        if "query" not in params:
            return service_description(request)
        queries = params.getlist("query")
        if len(queries) != 1:
            return _text(400, "give exactly one 'query' parameter")
        return await run_query(request, queries[0], params.getlist("default-graph-uri"), params.getlist("named-graph-uri"))

    @app.post("/sparql", summary="SPARQL query or update via POST (form, sparql-query or sparql-update body)",
              response_class=Response, openapi_extra={"requestBody": QUERY_BODY})
    async def sparql_post(request: Request) -> Response:
        try:
            raw = await read_body(request, config.max_body)
            body = raw.decode("utf-8")
        except BodyTooLarge as exc:
            return _text(413, str(exc))
        except UnicodeDecodeError:
            return _text(400, "the request body is not UTF-8")
        url_params = {k: request.query_params.getlist(k) for k in request.query_params}
        media = _media_type(request)
        if media == "application/x-www-form-urlencoded":
            form = parse_qs(body, keep_blank_values=True)
            queries, updates = form.get("query", []), form.get("update", [])
            if len(queries) + len(updates) != 1:
                return _text(400, "give exactly one 'query' or one 'update' parameter")
            if updates:
                return await run_update(request, updates[0], form)
            return await run_query(request, queries[0], form.get("default-graph-uri", []), form.get("named-graph-uri", []))
        if media == "application/sparql-query":
            return await run_query(request, body, url_params.get("default-graph-uri", []), url_params.get("named-graph-uri", []))
        if media == "application/sparql-update":
            return await run_update(request, body, url_params)
        return _text(415, "POST a query as application/sparql-query or application/x-www-form-urlencoded, "
                          "an update as application/sparql-update or application/x-www-form-urlencoded")

    @app.post("/recommend", summary="Assess patients (Turtle, CSV, FHIR Bundle) and return recommendations (JSON or FHIR)",
              response_class=Response, openapi_extra={"requestBody": RECOMMEND_BODY})
    async def recommend(request: Request, explain: bool = False) -> Response:
        media = _media_type(request)
        if media not in INPUT_TYPES:
            return JSONResponse({"error": f"unsupported Content-Type '{media}'", "supported": sorted(INPUT_TYPES)}, status_code=415)
        try:
            body = await read_body(request, config.max_body)
        except BodyTooLarge as exc:
            return JSONResponse({"error": str(exc)}, status_code=413)
        payload = RecommendRequest(body, media, request.headers.get("accept"), explain)
        return _response(await dispatch(request, assessors, payload, config.recommend_timeout, "assessment"))

    async def assess_json(request: Request, body: bytes, media: str) -> Reply:
        """The §5.1 JSON of a body, assessed by the same workers as /recommend (for CDS Hooks and the MDT page)."""
        payload = RecommendRequest(body, media, "application/json")
        return await dispatch(request, assessors, payload, config.recommend_timeout, "assessment")

    app.state.cases = Cases()
    mount_cds(app, config, assess_json, folder, app.state.cases)
    mount_mdt(app, config, assess_json, app.state.cases)
    return app


def serve(config: ServerConfig, host: str = "127.0.0.1", port: int = 8000, log_level: str = "info") -> None:
    """Run the server in the foreground until interrupted."""
    import uvicorn

    uvicorn.run(create_app(config), host=host, port=port, log_level=log_level)
