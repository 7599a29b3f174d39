"""Take the network away from a worker process (Linux), so no request can make it connect anywhere.

Every request is checked before it runs (:mod:`.guard`, :mod:`.sparql`, :mod:`.assess`), but
the parsers and the engine (pyoxigraph's SERVICE/LOAD client, rdflib's JSON-LD context
loader) all know how to fetch URLs. A worker that has moved into a network namespace of its
own has no interface but a loopback that is down: a fetch that slipped past every check
fails with "network unreachable" instead of reaching the host, the LAN or the cloud
metadata address. Unprivileged user namespaces make this possible without root; where the
kernel or a container policy forbids them the call fails, the worker carries on with the
checks alone, and ``/health`` says so (``network_isolated``).

The worker talks to the server only over the pipe it inherited, which a namespace does not affect.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os
import sys

CLONE_NEWUSER = 0x10000000
CLONE_NEWNET = 0x40000000


def isolate_network() -> bool:
    """Move this (single-threaded) process into new user + network namespaces; True on success."""
    if not sys.platform.startswith("linux") or os.environ.get("GUIDEKG_NO_SANDBOX"):
        return False
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
        return libc.unshare(CLONE_NEWUSER | CLONE_NEWNET) == 0
    except (OSError, AttributeError):
        return False
