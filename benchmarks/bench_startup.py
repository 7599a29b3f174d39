"""Start-up: one patient through the CLI (``guidekg recommend one.csv --format json``), whole process.

Prints the median of ``--runs`` wall times with the compiled knowledge cache warm, one cold
run that builds it, and the median with the cache off (everything derived from the content,
as before issue 16). Usage::

    python benchmarks/bench_startup.py --runs 5

Byte-compiled modules matter for start-up: when PYTHONDONTWRITEBYTECODE is set, this script
points PYTHONPYCACHEPREFIX at a scratch folder so the runs measure an installed package.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def one_patient(folder: Path) -> Path:
    lines = (ROOT / "examples" / "patients.csv").read_text(encoding="utf-8").splitlines()
    path = folder / "one.csv"
    path.write_text(lines[0] + "\n" + lines[1] + "\n", encoding="utf-8")
    return path


def timed(cmd: list[str], env: dict[str, str]) -> float:
    started = time.perf_counter()
    subprocess.run(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False)
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="guidekg-startup-") as tmp:
        folder = Path(tmp)
        one = one_patient(folder)
        env = dict(os.environ, PYTHONPATH=str(ROOT / "src"), GUIDEKG_CACHE=str(folder / "cache"))
        env.pop("PYTHONDONTWRITEBYTECODE", None)
        env["PYTHONPYCACHEPREFIX"] = str(folder / "pycache")
        cmd = [sys.executable, "-m", "guidekg.cli", "recommend", str(one), "--format", "json"]
        timed(cmd, dict(env, GUIDEKG_CACHE="off"))  # byte-compile once, outside the figures
        cold = timed(cmd, env)
        warm = [timed(cmd, env) for _ in range(args.runs)]
        off = [timed(cmd, dict(env, GUIDEKG_CACHE="off")) for _ in range(args.runs)]
    print(f"start-up, one patient, CLI --format json ({args.runs} runs, median)")
    print(f"  cache warm : {statistics.median(warm):.2f} s  (runs: {', '.join(f'{t:.2f}' for t in warm)})")
    print(f"  cache build: {cold:.2f} s  (first run after a content change)")
    print(f"  cache off  : {statistics.median(off):.2f} s  (runs: {', '.join(f'{t:.2f}' for t in off)})")


if __name__ == "__main__":
    main()
