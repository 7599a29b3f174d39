"""Helpers for the security tests: a loopback listener that must stay silent, and attack texts.

The listener is the proof that nothing went out: every test points its SERVICE, LOAD,
JSON-LD context or FHIR reference at it, and it records any connection it accepts.
"""

from __future__ import annotations

import socket
import threading


class Listener:
    """A TCP listener on a free 127.0.0.1 port that records every connection (and closes it)."""

    def __init__(self) -> None:
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.sock.settimeout(0.2)
        self.port = int(self.sock.getsockname()[1])
        self.url = f"http://127.0.0.1:{self.port}/sparql"
        self.hits: list[tuple] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="silent-listener", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                conn, address = self.sock.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            self.hits.append(address)
            conn.close()

    def close(self) -> None:
        self._stop.set()
        self._thread.join(5)
        self.sock.close()


COMMENT_ENDS = ["\r", "\r\n", "\n", "\u2028", "\u2029", "\x85", "\f", "\v", "\\u000D", "\\u000A", "\\u000d\\u000a"]
"""What might end a ``#`` comment for one parser and not another (raw and as codepoint escapes)."""


def service_variants(url: str) -> list[str]:
    """Queries that would make an engine connect to ``url`` if run: every placement and spelling we know."""
    body = "{ ?x ?y ?z }"
    tail = "\n}"  # closes the query for a parser that read the SERVICE line as a comment
    out = [f"SELECT * WHERE {{ # x{end}SERVICE <{url}> {body}{tail}" for end in COMMENT_ENDS]
    out += [f"SELECT * WHERE {{ # x{end}SERVICE SILENT <{url}> {body}{tail}" for end in COMMENT_ENDS]
    out += [
        f"SELECT * WHERE {{ \\u0053ERVICE <{url}> {body} }}",
        f"SELECT * WHERE {{ \\U00000053ERVICE <{url}> {body} }}",
        f"SELECT * WHERE {{ SERVICE <{url.replace('127', chr(92) + 'u0031' + '27', 1)}> {body} }}",
        f"SELECT * WHERE {{ service <{url}> {body} }}",
        f"select * where {{ SeRvIcE silent <{url}> {body} }}",
        f"SELECT * WHERE {{ VALUES ?e {{ <{url}> }} SERVICE ?e {body} }}",
        f"SELECT * WHERE {{ BIND(<{url}> AS ?e) SERVICE SILENT ?e {body} }}",
        f"SELECT * WHERE {{ OPTIONAL {{ SERVICE <{url}> {body} }} }}",
        f"SELECT * WHERE {{ {{ ?a ?b ?c }} UNION {{ SERVICE <{url}> {body} }} }}",
        f"SELECT * WHERE {{ ?a ?b ?c MINUS {{ SERVICE <{url}> {body} }} }}",
        f"SELECT * WHERE {{ FILTER EXISTS {{ SERVICE <{url}> {body} }} }}",
        f"SELECT * WHERE {{ FILTER NOT EXISTS {{ SERVICE <{url}> {body} }} }}",
        f"SELECT * WHERE {{ {{ SELECT * WHERE {{ SERVICE <{url}> {body} }} }} }}",
        f"SELECT * WHERE {{ GRAPH ?g {{ SERVICE <{url}> {body} }} }}",
        f"ASK {{ SERVICE <{url}> {body} }}",
        f"CONSTRUCT {{ ?x ?y ?z }} WHERE {{ SERVICE <{url}> {body} }}",
        f"DESCRIBE ?x WHERE {{ SERVICE <{url}> {body} }}",
        f"SELECT * WHERE {{ ?s ?p ?o .SERVICE <{url}> {body} }}",
        f"SELECT * WHERE {{ ?s ?p ?o\tSERVICE\t<{url}>\t{body} }}",
        f"SELECT * WHERE {{ ?s ?p ?o\rSERVICE\r<{url}>\r{body} }}",
        f'SELECT * WHERE {{ BIND("\\u0022 # " AS ?q) SERVICE <{url}> {body}\n}}',
        f"SELECT * WHERE {{ BIND('\\u0027 # ' AS ?q) SERVICE <{url}> {body}\n}}",
        f'SELECT * WHERE {{ BIND("""a\r""" AS ?q) # x\rSERVICE <{url}> {body}\n}}',
        f"PREFIX s: <{url}#>\nSELECT * WHERE {{ # \rSERVICE s: {body}\n}}",
        f"BASE <{url}>\nSELECT * WHERE {{ # \rSERVICE <> {body}\n}}",
    ]
    return out


def update_variants(url: str) -> list[str]:
    """Updates that would make the engine fetch ``url``."""
    out = [f"INSERT DATA {{ <urn:a> <urn:b> 1 }} ; # x{end}LOAD <{url}>\n" for end in COMMENT_ENDS]
    out += [
        f"LOAD <{url}>",
        f"LOAD SILENT <{url}> INTO GRAPH <urn:g>",
        f"load <{url}>",
        f"\\u004COAD <{url}>",
        f"INSERT {{ ?x ?y ?z }} WHERE {{ # x\rSERVICE <{url}> {{ ?x ?y ?z }}\n}}",
        f"DELETE {{ ?x ?y ?z }} WHERE {{ OPTIONAL {{ SERVICE SILENT <{url}> {{ ?x ?y ?z }} }} }}",
        f"WITH <urn:g> INSERT {{ ?x ?y ?z }} WHERE {{ FILTER EXISTS {{ SERVICE <{url}> {{ ?x ?y ?z }} }} }}",
    ]
    return out
