"""Population benchmark (issue 16), whole processes through the real CLI, one run each:

* start-up: one patient, ``recommend --format json``, median of ``--startup-runs`` (cache warm);
* an untimed warm-up of the population command on 2,000 patients (bytecode and caches written,
  as on an installed system);
* for each size: CSV -> results with evidence (``--form full``: NDJSON, the default;
  ``compact``: NDJSON --compact + dictionary; ``parquet``), wall time, patients/s, output
  size, and the memory (PSS of the whole process tree, plus the chunk files spooled in
  /dev/shm) at each tenth of the run; a malformed
  row is planted and must come out as one 'invalid' patient;
* ``guidekg audit`` over the same CSV (``--audit``);
* the fast/HermiT ratio on the same sample in the same run: ``--hermit-sample`` patients of
  the cohort through ``recommend --format json`` with each reasoner (whole processes), and
  the number of patients whose classes or status differ (must be 0).

Targets (issue 16, on a quiet 2-core machine): 100,000 in <= 15 s, 1,000,000 in <= 180 s,
peak memory <= 1 GiB and flat; start-up <= 0.5 s. Run on a quiet machine::

    python benchmarks/bench_population.py --sizes 100000 1000000 --workers 2 --audit --hermit-sample 1000

Small sizes for a smoke run: ``--sizes 2000 --hermit-sample 100``. ``--engine spark`` times the
same job on an embedded Spark (local[*]).
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE))

from bench_reasoners import _memory_mib  # noqa: E402
from bench_startup import one_patient, timed  # noqa: E402

from guidekg.synthetic import write_cohort  # noqa: E402


def _env(folder: Path) -> dict[str, str]:
    env = dict(os.environ, PYTHONPATH=str(ROOT / "src") + os.pathsep + os.environ.get("PYTHONPATH", ""))
    env.setdefault("GUIDEKG_CACHE", str(folder / "cache"))
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    env["PYTHONPYCACHEPREFIX"] = str(folder / "pycache")
    return env


def _spool_mib() -> float:
    """What the run's chunk files hold in /dev/shm (guidekg.spool): memory no process's PSS shows."""
    total = 0
    for path in Path("/dev/shm").glob("guidekg-spool-*/*"):
        try:
            total += path.stat().st_size
        except OSError:  # copied out and deleted meanwhile
            continue
    return total / 2**20


def _sampled(cmd: list[str], env: dict[str, str]) -> tuple[float, list[tuple[float, float]], str, int]:
    """Run ``cmd``; wall time, (t, tree PSS + spooled chunks, MiB) samples every 0.25 s, last
    stderr line, exit code."""
    started = time.perf_counter()
    with tempfile.TemporaryFile("w+") as errors:
        proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=errors, text=True)
        samples: list[tuple[float, float]] = []
        while proc.poll() is None:
            samples.append((time.perf_counter() - started, _memory_mib(proc.pid)[1] + _spool_mib()))
            time.sleep(0.25)
        wall = time.perf_counter() - started
        errors.seek(0)
        lines = errors.read().strip().splitlines()
    return wall, samples, (lines[-1] if lines else ""), proc.returncode


def _tenths(samples: list[tuple[float, float]]) -> str:
    if not samples:
        return "(run too short to sample)"
    marks = [samples[min(len(samples) - 1, int(len(samples) * f / 10))] for f in range(1, 11)]
    return ", ".join(f"{t:.1f}s {p:.0f}" for t, p in marks)


def startup(folder: Path, runs: int) -> None:
    one, env = one_patient(folder), _env(folder)
    cmd = [sys.executable, "-m", "guidekg.cli", "recommend", str(one), "--format", "json"]
    timed(cmd, env)  # builds the cache if needed, byte-compiles
    times = [timed(cmd, env) for _ in range(runs)]
    print(f"start-up, one patient through the CLI: median {statistics.median(times):.2f} s of {runs} "
          f"({', '.join(f'{t:.2f}' for t in times)})", flush=True)


def warm_up(folder: Path, workers: int, form: str, engine: str, audit: bool) -> None:
    """The same command once on 2,000 patients, untimed: the start-up figure above covers a cold
    process; this leaves the population run as an installed system runs it, with the bytecode
    of the modules only the population path imports written and the knowledge cache built."""
    sheet = write_cohort(folder / "warm-up.csv", 2000, seed=7)
    out = folder / ("warm-up.parquet" if form == "parquet" else "warm-up.ndjson")
    subprocess.run([sys.executable, "-m", "guidekg.cli", "recommend", str(sheet), "--format", "parquet" if form == "parquet" else "ndjson",
                    "--workers", str(workers), "--out", str(out), "--engine", engine] + (["--compact"] if form == "compact" else []),
                   env=_env(folder), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False)
    if audit:
        subprocess.run([sys.executable, "-m", "guidekg.cli", "audit", str(sheet), "--workers", str(workers), "--out", str(folder / "warm-up-audit")],
                       env=_env(folder), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False)


def population(folder: Path, size: int, workers: int, form: str, audit: bool, engine: str = "local") -> None:
    env = _env(folder)
    sheet = folder / f"cohort-{size}.csv"
    bad = int(size * 0.734510)
    started = time.perf_counter()
    write_cohort(sheet, size, seed=1, bad_lines={bad: 'SYNBAD,2026-11-01,"unterminated'})
    print(f"\n{size:,} patients ({sheet.stat().st_size / 2**20:,.0f} MiB CSV, malformed row at line {bad + 2:,}), "
          f"generated in {time.perf_counter() - started:.0f} s", flush=True)
    out = folder / {"full": "out.ndjson", "compact": "out.ndjson", "parquet": "out.parquet"}[form]
    cmd = [sys.executable, "-m", "guidekg.cli", "recommend", str(sheet), "--format", "parquet" if form == "parquet" else "ndjson",
           "--workers", str(workers), "--out", str(out), "--engine", engine] + (["--compact"] if form == "compact" else [])
    wall, samples, summary, code = _sampled(cmd, env)
    if f"{size:,} patients" not in summary or " 1 invalid" not in summary:
        sys.exit(f"the run does not account for every patient and the malformed row (exit {code}): {summary}")
    size_out = out.stat().st_size + sum(p.stat().st_size for p in folder.glob("out.dict.json"))
    peak = max((p for _, p in samples), default=0.0)
    print(f"recommend CSV -> {form} with evidence, {'Spark local[*]' if engine == 'spark' else f'{workers} worker(s)'}: {wall:,.1f} s wall, {size / wall:,.0f} patients/s, "
          f"output {size_out / 2**20:,.1f} MiB, peak tree PSS + spool {peak:,.0f} MiB\n  {summary}\n"
          f"  tree PSS at each tenth (MiB): {_tenths(samples)}", flush=True)
    out.unlink()
    if audit:
        wall, samples, summary, code = _sampled([sys.executable, "-m", "guidekg.cli", "audit", str(sheet), "--workers", str(workers),
                                                 "--out", str(folder / "audit")], env)
        peak = max((p for _, p in samples), default=0.0)
        print(f"audit: {wall:,.1f} s wall, {size / wall:,.0f} patients/s, peak tree PSS {peak:,.0f} MiB (exit {code})\n  {summary}\n"
              f"  tree PSS at each tenth (MiB): {_tenths(samples)}", flush=True)
    sheet.unlink()


def hermit_ratio(folder: Path, sample: int) -> None:
    """Whole-process fast vs HermiT on the same sample, and whether their answers agree."""
    env = _env(folder)
    sheet = write_cohort(folder / "sample.csv", sample, seed=sample)
    results = {}
    for reasoner in ("fast", "hermit"):
        out = folder / f"{reasoner}.json"
        started = time.perf_counter()
        subprocess.run([sys.executable, "-m", "guidekg.cli", "recommend", str(sheet), "--format", "json", "--reasoner", reasoner,
                        "--out", str(out)], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False)
        results[reasoner] = (time.perf_counter() - started, json.loads(out.read_text(encoding="utf-8")))
    (fast_s, fast), (hermit_s, hermit) = results["fast"], results["hermit"]
    differ = sum(1 for a, b in zip(fast, hermit, strict=True)
                 if (a["status"], a["treatment_classes"]) != (b["status"], b["treatment_classes"]))
    with sheet.open(encoding="utf-8") as handle:
        rows = sum(1 for _ in csv.reader(handle)) - 1
    print(f"\nfast vs HermiT, same {rows:,}-patient sample, whole processes (recommend --format json): "
          f"fast {fast_s:.1f} s, HermiT {hermit_s:.1f} s, ratio {hermit_s / fast_s:,.1f}x, patients that differ: {differ}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", type=int, nargs="+", default=[100_000, 1_000_000])
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--form", choices=("full", "compact", "parquet"), default="full")
    parser.add_argument("--audit", action="store_true", help="also time guidekg audit over each cohort")
    parser.add_argument("--engine", choices=("local", "spark"), default="local", help="spark: recommend --engine spark (JVM start-up included)")
    parser.add_argument("--startup-runs", type=int, default=5)
    parser.add_argument("--hermit-sample", type=int, default=1000, help="patients for the fast/HermiT ratio (0: skip)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="guidekg-population-") as tmp:
        folder = Path(tmp)
        print(f"guidekg population benchmark: {os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f} at start")
        startup(folder, args.startup_runs)
        warm_up(folder, args.workers, args.form, args.engine, args.audit)
        for size in args.sizes:
            population(folder, size, args.workers, args.form, args.audit, args.engine)
        if args.hermit_sample:
            hermit_ratio(folder, args.hermit_sample)


if __name__ == "__main__":
    main()
