"""Benchmark: fast engine vs HermiT in the same run, and the CSV -> NDJSON path end to end.

    python benchmarks/bench_reasoners.py                      # 100, 1,000, 10,000, 100,000
    python benchmarks/bench_reasoners.py --sizes 100 1000 --hermit-budget 300
    python benchmarks/bench_reasoners.py --e2e 1000000 --workers 2

Cohorts are synthetic (guidekg.synthetic: every branch, ~5% missing molecular data, ~1%
contradictory). HermiT runs up to the largest size that fits the time budget (it is skipped
for larger sizes once a run's projected time exceeds the budget). Mismatches must be 0.
"""

from __future__ import annotations

import argparse
import os
import re
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from guidekg.ingest.casesheet import read_csv
from guidekg.reasoning import get_reasoner
from guidekg.synthetic import write_cohort


def _rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _cohort(size: int, folder: Path):
    path = write_cohort(folder / f"cohort-{size}.csv", size, seed=size)
    return [r for r in read_csv(path) if not r.ingest_failed]


def bench(sizes: list[int], budget: float) -> None:
    fast = get_reasoner("fast")
    hermit = get_reasoner("hermit")
    hermit_rate: float | None = None
    print(f"{'patients':>9} {'fast s':>8} {'fast pat/s':>11} {'HermiT s':>9} {'HermiT pat/s':>12} {'ratio':>8} {'mismatch':>8} {'peak RSS MiB':>12}")
    with tempfile.TemporaryDirectory() as tmp:
        for size in sizes:
            records = _cohort(size, Path(tmp))
            fresh = type(fast)()  # a cold memo for every size: no help from earlier sizes
            started = time.perf_counter()
            answers = fresh.realize(records)
            fast_s = time.perf_counter() - started
            hermit_s = ratio = mismatches = None
            projected = size / hermit_rate if hermit_rate else 0.0
            if projected <= budget:
                started = time.perf_counter()
                expected = hermit.realize(records)
                hermit_s = time.perf_counter() - started
                hermit_rate = size / hermit_s
                ratio = hermit_s / fast_s
                mismatches = sum(1 for r in records if (answers[r.iri].consistent, answers[r.iri].classes)
                                 != (expected[r.iri].consistent, expected[r.iri].classes))
            print(f"{size:>9,} {fast_s:>8.3f} {size / fast_s:>11,.0f} "
                  f"{'skipped' if hermit_s is None else f'{hermit_s:.1f}':>9} "
                  f"{'' if hermit_s is None else f'{size / hermit_s:,.0f}':>12} "
                  f"{'' if ratio is None else f'{ratio:,.0f}x':>8} {'' if mismatches is None else mismatches:>8} {_rss_mib():>12,.0f}",
                  flush=True)
            del records, answers
    single_patient_latency()


def single_patient_latency() -> None:
    """Warm process, one new patient through the whole assess() pipeline (compiled SHACL checks, fast reasoner, look-ups)."""
    from guidekg.recommend import assess

    with tempfile.TemporaryDirectory() as tmp:
        records = list(read_csv(write_cohort(Path(tmp) / "one.csv", 60, seed=99)))
    assess(records[:10])  # warm caches
    times = []
    for record in records[10:]:
        started = time.perf_counter()
        assess([record])
        times.append(time.perf_counter() - started)
    times.sort()
    print(f"single-patient recommend (warm; compiled SHACL + fast reasoner + look-ups): median {times[len(times) // 2] * 1000:.1f} ms, "
          f"p90 {times[int(len(times) * 0.9)] * 1000:.1f} ms")


def _tree(root: int) -> list[int]:
    """The process and all its descendants (from /proc, Linux)."""
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as handle:
                    ppid = int(handle.read().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            children.setdefault(ppid, []).append(int(entry))
    out, stack = [], [root]
    while stack:
        pid = stack.pop()
        out.append(pid)
        stack.extend(children.get(pid, []))
    return out


def _memory_mib(root: int) -> tuple[float, float]:
    """(RSS, PSS) of the whole process tree in MiB. PSS counts pages shared by the forked
    workers once, so it is what the run really occupies; RSS double-counts them."""
    rss = pss = 0
    for pid in _tree(root):
        try:
            with open(f"/proc/{pid}/smaps_rollup") as handle:
                for line in handle:
                    if line.startswith("Rss:"):
                        rss += int(line.split()[1])
                    elif line.startswith("Pss:"):
                        pss += int(line.split()[1])
        except OSError:
            continue
    return rss / 1024, pss / 1024


def e2e(size: int, workers: int, keep: bool) -> None:
    """CSV -> NDJSON through the real CLI, sampling the memory of the whole process tree."""
    with tempfile.TemporaryDirectory() as tmp:
        csv_path = Path(tmp) / f"cohort-{size}.csv"
        started = time.perf_counter()
        # One malformed row (line 734,512 of a million-row file, the same fraction of smaller ones):
        # it must come out as one 'invalid' patient and the run must go on.
        bad_row = int(size * 0.734510)
        write_cohort(csv_path, size, seed=1, bad_lines={bad_row: 'SYNBAD,2026-11-01,"unterminated'})
        print(f"generated {size:,} rows, a malformed one at line {bad_row + 2:,} ({csv_path.stat().st_size / 2**20:,.0f} MiB) in {time.perf_counter() - started:.0f} s", flush=True)
        out = Path(tmp) / "out.ndjson" if keep else Path(os.devnull)
        started = time.perf_counter()
        with tempfile.TemporaryFile("w+") as errors:
            proc = subprocess.Popen([sys.executable, "-m", "guidekg.cli", "recommend", str(csv_path), "--format", "ndjson",
                                     "--workers", str(workers), "--out", str(out)], stderr=errors, text=True)
            samples: list[tuple[float, float, float]] = []
            while proc.poll() is None:
                rss, pss = _memory_mib(proc.pid)
                samples.append((time.perf_counter() - started, rss, pss))
                time.sleep(0.5)
            wall = time.perf_counter() - started
            errors.seek(0)
            stderr = errors.read().strip()
        summary = stderr.splitlines()[-1] if stderr else f"exit {proc.returncode}"
        print(summary)
        counts = [int(n.replace(",", "")) for n in re.findall(r"([\d,]+) (?:patients|ok|invalid|contradictory)(?![/\w])", summary)]
        if len(counts) != 4 or counts[0] != size or sum(counts[1:]) != size or counts[2] != 1:
            sys.exit(f"the summary does not account for all {size:,} patients and the malformed row: {summary}")
        peak_rss = max((s[1] for s in samples), default=0.0)
        peak_pss = max((s[2] for s in samples), default=0.0)
        print(f"e2e CSV -> NDJSON, {size:,} patients, {workers} worker(s): {wall:,.1f} s wall, {size / wall:,.0f} patients/s, "
              f"peak memory of the whole process tree: PSS {peak_pss:,.0f} MiB (RSS {peak_rss:,.0f} MiB)")
        if keep:
            print(f"output: {out.stat().st_size / 2**30:,.2f} GiB")
        marks = [samples[int(len(samples) * f / 10)] for f in range(1, 10) if samples]
        print("tree PSS over the run (MiB): " + ", ".join(f"{t:.0f}s {p:.0f}" for t, _, p in marks))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", type=int, nargs="+", default=[100, 1000, 10_000, 100_000])
    parser.add_argument("--hermit-budget", type=float, default=600.0, help="seconds HermiT may take for one size (default 600)")
    parser.add_argument("--e2e", type=int, metavar="N", help="instead: generate an N-row CSV and time CSV -> NDJSON")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--keep-output", action="store_true", help="write the NDJSON to a temp file instead of /dev/null")
    args = parser.parse_args()
    if args.e2e:
        e2e(args.e2e, args.workers, args.keep_output)
    else:
        bench(args.sizes, args.hermit_budget)


if __name__ == "__main__":
    main()
