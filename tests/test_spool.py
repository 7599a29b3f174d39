"""Worker output handed over through spooled files (guidekg.spool): the same bytes on every kind
of output, nothing left behind, also when a worker fails."""

from __future__ import annotations

import errno
import io
import os

import pytest

from guidekg import batch, spool
from guidekg.synthetic import write_cohort


@pytest.fixture(scope="module")
def cohort(tmp_path_factory):
    return write_cohort(tmp_path_factory.mktemp("spool") / "c.csv", 240, seed=31,
                        bad_lines={100: 'SYNBAD,2026-11-01,"unterminated'})


@pytest.fixture
def private_root(tmp_path, monkeypatch):
    root = tmp_path / "shm"
    root.mkdir()
    monkeypatch.setattr(spool, "_root", lambda: str(root))
    return root


def _reference(cohort) -> str:
    out = io.StringIO()
    batch.run_batch([cohort], out, workers=1, chunk_size=50)
    return out.getvalue()


def test_workers_write_the_same_bytes_to_a_file_a_pipe_and_a_buffer(cohort, tmp_path, private_root):
    expected = _reference(cohort)
    assert expected.count("\n") == 240 and '"status":"invalid"' in expected

    with open(tmp_path / "out.ndjson", "w", encoding="utf-8") as handle:  # sendfile into a file
        handle.write("first line written before the run\n")
        batch.run_batch([cohort], handle, workers=2, chunk_size=50)
    assert (tmp_path / "out.ndjson").read_text(encoding="utf-8") == "first line written before the run\n" + expected

    read, write = os.pipe()  # sendfile into a pipe, read by a thread
    import threading

    received = bytearray()

    def drain() -> None:
        while block := os.read(read, 1 << 16):
            received.extend(block)

    reader = threading.Thread(target=drain, daemon=True)
    reader.start()
    with open(write, "w", encoding="utf-8") as handle:
        batch.run_batch([cohort], handle, workers=2, chunk_size=50)
    reader.join(60)
    os.close(read)
    assert received.decode("utf-8") == expected

    raw = io.BytesIO()  # a binary layer without a file descriptor
    wrapper = io.TextIOWrapper(raw, encoding="utf-8", write_through=True)
    batch.run_batch([cohort], wrapper, workers=2, chunk_size=50)
    wrapper.flush()
    assert raw.getvalue().decode("utf-8") == expected

    text = io.StringIO()  # no binary layer at all
    batch.run_batch([cohort], text, workers=2, chunk_size=50)
    assert text.getvalue() == expected
    assert list(private_root.iterdir()) == []


def test_an_output_sendfile_refuses_is_copied_another_way(cohort, tmp_path, private_root, monkeypatch):
    def refuse(*args):
        raise OSError(errno.EINVAL, "Invalid argument")

    monkeypatch.setattr(os, "sendfile", refuse)
    with open(tmp_path / "out.ndjson", "w", encoding="utf-8") as handle:
        batch.run_batch([cohort], handle, workers=2, chunk_size=50)
    assert (tmp_path / "out.ndjson").read_text(encoding="utf-8") == _reference(cohort)


def test_a_failing_worker_leaves_no_spooled_file(cohort, tmp_path, private_root, monkeypatch):
    real = batch.chunk_lines

    def failing(chunk, *args):
        if chunk[3][0][0] > 150:  # the chunk starting after line 150 (workers inherit the patch)
            raise RuntimeError("planted failure")
        return real(chunk, *args)

    monkeypatch.setattr(batch, "chunk_lines", failing)
    with open(tmp_path / "out.ndjson", "w", encoding="utf-8") as handle, pytest.raises(RuntimeError, match="planted"):
        batch.run_batch([cohort], handle, workers=2, chunk_size=50)
    assert list(private_root.iterdir()) == []


def test_copy_out_deletes_the_file_it_copied(tmp_path):
    path = spool.spool_lines(str(tmp_path), ["ä", "b"])
    out = io.BytesIO()
    spool.copy_out(path, out)
    assert out.getvalue() == "ä\nb\n".encode() and not os.path.exists(path)


def test_a_killed_run_s_folder_is_removed_by_the_next_run(tmp_path, private_root):
    import subprocess
    import sys

    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True, check=True)
    stale = private_root / f"guidekg-spool-{dead.stdout.strip()}-abc"
    stale.mkdir()
    (stale / "chunk.ndjson").write_text("left by a killed run\n")
    mine = private_root / f"guidekg-spool-{os.getpid()}-def"  # a live run's folder stays
    mine.mkdir()
    with spool.spool_folder() as folder:
        assert folder.startswith(str(private_root / f"guidekg-spool-{os.getpid()}-"))
    assert not stale.exists() and mine.exists()


def test_parquet_from_workers_equals_parquet_from_one_process_and_from_text(cohort, tmp_path, private_root):
    pq = pytest.importorskip("pyarrow.parquet")
    from guidekg.export.compact import new_dictionary
    from guidekg.export.parquet import ParquetSink

    tables = {}
    for name, workers, arrow in (("one", 1, True), ("workers", 2, True), ("text", 2, False)):
        sink = ParquetSink(str(tmp_path / f"{name}.parquet"))
        sink.arrow = arrow  # False: the sink is handed NDJSON text, as from Spark executors
        try:
            batch.run_batch([cohort], sink, workers=workers, chunk_size=50, dictionary=new_dictionary())
        finally:
            sink.close()
        tables[name] = pq.read_table(tmp_path / f"{name}.parquet")
    assert tables["one"].num_rows == 240
    assert tables["one"].equals(tables["workers"]) and tables["one"].equals(tables["text"])
    assert list(private_root.iterdir()) == []
