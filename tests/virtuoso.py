"""A private, throw-away Virtuoso for tests (ARCHITECTURE §8).

A copy of the packaged ``virtuoso.ini`` with its database files moved into a temporary
folder and both ports moved to free loopback ports, started as ``virtuoso-t +foreground``
in its own process group and stopped by that process id. Nothing touches the system
instance or ``/var/lib``. Usable from a shell too: ``python tests/virtuoso.py`` starts one
and prints its URL until Ctrl-C.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

SYSTEM_INI = Path("/etc/virtuoso-opensource-7/virtuoso.ini")
BINARY = shutil.which("virtuoso-t")
MISSING_REASON = ("virtuoso-t is not installed: run `apt-get install -y virtuoso-opensource` "
                  "(DEBIAN_FRONTEND=noninteractive) to run the push tests against a real triple store")


def available() -> bool:
    return BINARY is not None and SYSTEM_INI.is_file()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def private_ini(text: str, folder: Path, sql_port: int, http_port: int) -> str:
    """The system ini with every database, log and lock file in ``folder`` and both ports replaced

    (the lock file too: two instances sharing /var/lib/.../virtuoso.lck refuse to start)."""
    text = re.sub(r"(?m)^(\s*(?:DatabaseFile|ErrorLogFile|LockFile|TransactionFile|xa_persistent_file)\s*=\s*)(\S+)",
                  lambda m: m.group(1) + str(folder / Path(m.group(2)).name), text)
    section = ""
    lines = []
    for line in text.splitlines():
        header = re.match(r"^\s*\[(.+)\]", line)
        if header:
            section = header.group(1).strip()
        if re.match(r"^\s*ServerPort\s*=", line):
            port = sql_port if section == "Parameters" else http_port if section == "HTTPServer" else None
            if port is not None:
                line = f"ServerPort = 127.0.0.1:{port}"
        lines.append(line)
    return "\n".join(lines) + "\n"


@dataclass
class Virtuoso:
    """One running instance; ``url`` is the HTTP root (``/sparql``, ``/sparql-graph-crud-auth``)."""

    folder: Path
    http_port: int
    process: subprocess.Popen | None = None
    user: str = "dba"
    password: str = "dba"
    log: list[str] = field(default_factory=list)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.http_port}"

    @property
    def sparql(self) -> str:
        return f"{self.url}/sparql"

    @property
    def graph_store(self) -> str:
        return f"{self.url}/sparql-graph-crud-auth"

    @property
    def update_endpoint(self) -> str:
        return f"{self.url}/sparql-auth"

    @classmethod
    def start(cls, folder: Path | None = None, wait: float = 90.0) -> Virtuoso:
        if not available():
            raise RuntimeError(MISSING_REASON)
        folder = Path(folder or tempfile.mkdtemp(prefix="guidekg-virtuoso-"))
        folder.mkdir(parents=True, exist_ok=True)
        http_port, sql_port = free_port(), free_port()
        ini = folder / "virtuoso.ini"
        ini.write_text(private_ini(SYSTEM_INI.read_text(encoding="utf-8"), folder, sql_port, http_port), encoding="utf-8")
        out = (folder / "stdout.log").open("wb")
        process = subprocess.Popen([str(BINARY), "+foreground", "+configfile", str(ini)], cwd=folder,
                                   stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
        instance = cls(folder, http_port, process)
        instance.wait_ready(wait)
        return instance

    def wait_ready(self, wait: float) -> None:
        deadline = time.monotonic() + wait
        while time.monotonic() < deadline:
            if self.process is not None and self.process.poll() is not None:
                raise RuntimeError(f"virtuoso-t exited with {self.process.returncode}; see {self.folder}/stdout.log")
            try:
                with urllib.request.urlopen(f"{self.sparql}?query=ASK%7B%7D", timeout=2) as response:
                    if response.status == 200:
                        return
            except (urllib.error.URLError, OSError):
                pass
            time.sleep(0.5)
        self.stop()
        raise RuntimeError(f"Virtuoso did not answer within {wait:.0f} s; see {self.folder}/stdout.log")

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        os.killpg(self.process.pid, signal.SIGTERM)
        try:
            self.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=10)


if __name__ == "__main__":  # pragma: no cover - manual use
    def _interrupt(*_: object) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, _interrupt)  # `timeout`/kill stop the database too, not only this script
    instance = Virtuoso.start()
    print(f"Virtuoso at {instance.url} (pid {instance.process.pid}, files in {instance.folder}); Ctrl-C stops it")
    try:
        while True:
            time.sleep(1)
    except KeyboardInterrupt:
        instance.stop()
