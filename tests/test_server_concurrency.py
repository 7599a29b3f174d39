"""/recommend under concurrent clients: every request answered correctly, spread over workers
forked from one warm process, none of which reloads the knowledge per request.

Pins the serving architecture of issue 16 (item 3), not its timing: 8 clients used to queue
behind a single assess worker, and a worker (spawned, not forked) held its own private copy
of the compiled knowledge. Timing is measured by ``benchmarks/load_server.py``, not here.
"""

from __future__ import annotations

import os
import signal
import sys
import threading
import time
from pathlib import Path

import httpx
import pytest

from guidekg.recommend import recommend
from guidekg.server.limits import ServerConfig
from serving import ROOT, client_from, live_app

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc and forks (Linux)")
CLIENTS = 8


def summary(items: list[dict]) -> list[tuple]:
    return [(i["patient"], i["status"], tuple(i["treatment_classes"]), tuple(r["id"] for r in i["recommendations"]),
             tuple(a["id"] for a in i["alerts"]), tuple(v["verdict"] for v in i.get("plan_verdicts", []))) for i in items]


def one_patient_sheets(folder: Path, count: int) -> list[Path]:
    """``count`` CSVs of one patient each, different patients (rows 1..count of the example sheet)."""
    header, *rows = (ROOT / "examples" / "patients.csv").read_text(encoding="utf-8").splitlines()
    assert len(rows) >= count
    sheets = []
    for index, row in enumerate(rows[:count]):
        sheet = folder / f"patient{index}.csv"
        sheet.write_text(f"{header}\n{row}\n", encoding="utf-8")
        sheets.append(sheet)
    return sheets


def parent_of(pid: int) -> int:
    status = Path(f"/proc/{pid}/status").read_text(encoding="utf-8")
    return int(next(line.split()[1] for line in status.splitlines() if line.startswith("PPid:")))


def bytes_read(pid: int) -> int:
    """Bytes the process has read through read(2) and friends (files and its pipe)."""
    io = Path(f"/proc/{pid}/io").read_text(encoding="utf-8")
    return int(next(line.split()[1] for line in io.splitlines() if line.startswith("rchar:")))


def knowledge_size() -> int:
    """The least a knowledge (re)load reads: the compiled cache file, or else the ontology it is derived from."""
    from guidekg import kcache, resources

    path = kcache.cache_path()
    ontology = sum(p.stat().st_size for p in resources.data_dir("ontology").rglob("*.ttl"))
    return min(path.stat().st_size, ontology) if kcache.enabled() and path.exists() else ontology


def post_all(url: str, sheets: list[Path]) -> list[httpx.Response | BaseException]:
    """POST each sheet from its own client address, all at once (released together by a barrier)."""
    answers: list[httpx.Response | BaseException] = [RuntimeError("not sent")] * len(sheets)
    barrier = threading.Barrier(len(sheets))

    def send(index: int) -> None:
        with client_from(f"127.0.2.{index + 1}", timeout=120) as http:
            barrier.wait()
            try:
                answers[index] = http.post(f"{url}/recommend", content=sheets[index].read_bytes(),
                                           headers={"Content-Type": "text/csv"})
            except httpx.HTTPError as exc:
                answers[index] = exc

    threads = [threading.Thread(target=send, args=(i,)) for i in range(len(sheets))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(180)
    return answers


@pytest.fixture(scope="module")
def served():
    with live_app(ServerConfig(workers=2, assess_workers=2)) as (url, app):
        yield url, app


def test_eight_concurrent_clients_all_get_their_own_correct_answer(served, tmp_path):
    url, app = served
    sheets = one_patient_sheets(tmp_path, CLIENTS)
    pool = app.state.assessors
    workers = {w.process.pid for w in pool._all}
    before = {pid: bytes_read(pid) for pid in workers}
    answers = post_all(url, sheets)
    for sheet, answer in zip(sheets, answers, strict=True):
        assert isinstance(answer, httpx.Response), answer
        assert answer.status_code == 200, answer.text
        assert summary(answer.json()) == summary([r.as_json() for r in recommend([sheet])])
    assert {w.process.pid for w in pool._all} == workers and pool.stats.replaced == 0  # nobody crashed or timed out
    read = {pid: bytes_read(pid) - before[pid] for pid in workers}
    assert all(n > 0 for n in read.values()), f"some worker answered nothing: {read}"  # the load was spread
    assert sum(read.values()) < knowledge_size(), f"workers read {read} bytes for {CLIENTS} requests: a knowledge reload"


def test_workers_are_forked_from_one_warm_process(served):
    url, app = served
    health = httpx.get(f"{url}/health", timeout=30).json()
    assert health["pools"]["recommend"]["forked"] is True and health["assess_workers"] == 2
    assert health["pools"]["sparql"]["forked"] is False  # query workers open stores of their own: spawned
    pool = app.state.assessors
    forkserver = pool._forks._process.pid
    assert {parent_of(w.process.pid) for w in pool._all} == {forkserver}


def test_a_killed_worker_is_replaced_by_a_fresh_fork(served, tmp_path):
    url, app = served
    pool = app.state.assessors
    (sheet,) = one_patient_sheets(tmp_path, 1)
    victim = next(iter(pool._all)).process.pid
    os.kill(victim, signal.SIGKILL)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and (victim in {w.process.pid for w in pool._all} or len(pool._all) < 2):
        httpx.post(f"{url}/recommend", content=sheet.read_bytes(), headers={"Content-Type": "text/csv"}, timeout=60)
        time.sleep(0.2)
    assert victim not in {w.process.pid for w in pool._all} and len(pool._all) == 2
    assert {parent_of(w.process.pid) for w in pool._all} == {pool._forks._process.pid}
    answers = post_all(url, [sheet, sheet])
    assert all(isinstance(a, httpx.Response) and a.status_code == 200 for a in answers)


def test_without_fork_the_workers_are_spawned_and_still_answer(monkeypatch, tmp_path):
    import guidekg.server.pool as pool_module

    monkeypatch.setattr(pool_module, "forks_available", lambda: False)  # e.g. no pidfds on this OS
    (sheet,) = one_patient_sheets(tmp_path, 1)
    with live_app(ServerConfig(workers=1, assess_workers=1)) as (url, app):
        assert httpx.get(f"{url}/health", timeout=30).json()["pools"]["recommend"]["forked"] is False
        pool = app.state.assessors
        assert {parent_of(w.process.pid) for w in pool._all} == {os.getpid()}
        answer = httpx.post(f"{url}/recommend", content=sheet.read_bytes(), headers={"Content-Type": "text/csv"}, timeout=120)
        assert answer.status_code == 200
        assert summary(answer.json()) == summary([r.as_json() for r in recommend([sheet])])
