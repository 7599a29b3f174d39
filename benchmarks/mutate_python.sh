#!/usr/bin/env bash
# Mutation testing of Python code with mutmut (PyPI), NOT part of CI.
#
#   benchmarks/mutate_python.sh [MODULE=TEST[,TEST...][@SECONDS] ...]
#   benchmarks/mutate_python.sh src/guidekg/ingest/variants.py=tests/test_variants.py,tests/test_ingest_mutants.py
#   benchmarks/mutate_python.sh            # the plan below: ingest/ and the server's query guard
#
# Each MODULE is mutated on its own, with its own focused, fast test files as the runner
# (pytest -x, 'not slow'), so a mutant costs seconds. A TEST may carry a pytest selection:
# tests/test_security.py::test_x, or '-k expr' is not supported here (use node ids).
#
# mutmut edits files in place, so each module runs in a copy of the checkout (never in your tree),
# $MUTMUT_WORK/<module> (default /tmp/guidekg-mutmut-work); run again after adding tests, it keeps
# the killed mutants and re-tests only the others (delete the copy for a clean run). It uses its own virtualenv (mutmut 2.5.x: one runner command per mutant). Runs under
# `nice -n 10`, one module at a time. Budget: @SECONDS or MUTMUT_TIMEOUT seconds per module (default 600);
# a module cut short reports its untested mutants as such.
#
# Results (outside the checkout, never committed): $MUTMUT_OUT (default /tmp/guidekg-mutmut-results)
#   summary.csv           module, mutants, killed, survived, timeout, untested, score (killed / tested), seconds
#   survivors-<name>.txt  `mutmut show` of every surviving mutant of that module
# The survivors judged harmless, with reasons, are in benchmarks/python-mutants-harmless.csv.
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
venv=${MUTMUT_VENV:-/tmp/guidekg-mutmut-venv}
out=${MUTMUT_OUT:-/tmp/guidekg-mutmut-results}
workroot=${MUTMUT_WORK:-/tmp/guidekg-mutmut-work}
project_python=${PROJECT_PYTHON:-python3}
site=$($project_python -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')

if [ $# -eq 0 ]; then
    i=src/guidekg/ingest s=src/guidekg/server t=tests
    set -- \
        "$i/variants.py=$t/test_ingest_mutants.py,$t/test_variants.py" \
        "$i/clinical_status.py=$t/test_ingest_mutants.py,$t/test_clinical_status.py" \
        "$i/casesheet.py=$t/test_ingest_mutants.py,$t/test_casesheet.py,$t/test_bad_input.py" \
        "$i/fhir_map.py=$t/test_ingest_mutants.py,$t/test_clinical_status.py,$t/test_fhir_ingest.py" \
        "$s/guard.py=$t/test_guard_mutants.py,$t/test_server_sparql.py" \
        "$s/sandbox.py=$t/test_guard_mutants.py,$t/test_security.py::test_workers_have_no_network_where_the_os_allows"
fi

if [ ! -x "$venv/bin/mutmut" ]; then
    python3 -m venv "$venv"
    "$venv/bin/pip" install -q "mutmut==2.5.1"
fi
mkdir -p "$out"
[ -f "$out/summary.csv" ] || echo "module,mutants,killed,survived,timeout,untested,score,seconds" > "$out/summary.csv"

for spec in "$@"; do
    budget=${MUTMUT_TIMEOUT:-600}
    case $spec in *@*) budget=${spec##*@}; spec=${spec%@*} ;; esac
    target=${spec%%=*}
    tests=${spec#*=}
    tests=${tests//,/ }
    existing=""
    for t in $tests; do [ -e "$here/${t%%::*}" ] && existing="$existing $t"; done
    name=$(basename "$target" .py)
    work=$workroot/$name
    if [ -f "$work/.mutmut-cache" ]; then  # a re-run after new tests: killed mutants stay killed, the rest are re-tested
        rm -rf "$work/src" "$work/tests"
        cp -r "$here/src" "$here/tests" "$work/"
    else
        rm -rf "$work" && mkdir -p "$work"
        cp -r "$here/src" "$here/tests" "$here/ontology" "$here/shapes" "$here/queries" "$here/examples" "$here/pyproject.toml" "$work/"
    fi
    # mutmut 2.5.1 counts only exit status 1 as killed: a mutant that breaks an import makes pytest exit 2
    # (collection error) and would pass for a survivor, so every failing status is mapped to 1
    runner="sh -c \"$project_python -m pytest -x -q -p no:cacheprovider -m 'not slow'$existing || exit 1\""
    echo "== mutating $target; runner: $runner; copy: $work"
    start=$(date +%s)
    (
        cd "$work"
        export PYTHONPATH="$work/src:$work/tests:$site"
        timeout "$budget" nice -n 10 "$venv/bin/mutmut" run --paths-to-mutate "$target" \
            --runner "$runner" --tests-dir tests --no-progress >"$out/run-$name.log" 2>&1 || true
        # a run cut short by the budget leaves its current mutant on disk; `mutmut show` needs the original
        cp "$here/$target" "$work/$target"
        "$venv/bin/mutmut" results > "$out/results-$name.txt" 2>&1 || true
        : > "$out/survivors-$name.txt"
        for id in $("$venv/bin/python" - <<'EOF'
import sqlite3
db = sqlite3.connect(".mutmut-cache")
print(" ".join(str(r[0]) for r in db.execute("select id from Mutant where status in ('bad_survived', 'bad_timeout') order by id")))
EOF
        ); do
            { echo "--- mutant $id"; "$venv/bin/mutmut" show "$id"; } >> "$out/survivors-$name.txt" 2>&1 || true
        done
        "$venv/bin/python" - "$target" "$(( $(date +%s) - start ))" >> "$out/summary.csv" <<'EOF'
import sqlite3, sys
from collections import Counter
db = sqlite3.connect(".mutmut-cache")
counts = Counter(status for (status,) in db.execute("select status from Mutant"))
total = sum(counts.values())
# ok_suspicious: killed, but the tests took longer than usual; bad_timeout: the tests hung (10x the baseline)
killed, survived, timeout = counts["ok_killed"] + counts["ok_suspicious"], counts["bad_survived"], counts["bad_timeout"]
tested = killed + survived + timeout
score = f"{100 * killed / tested:.1f}" if tested else ""
print(f"{sys.argv[1]},{total},{killed},{survived},{timeout},{counts['untested']},{score},{sys.argv[2]}")
EOF
    )
    tail -1 "$out/summary.csv"
done
column -s, -t < "$out/summary.csv"
