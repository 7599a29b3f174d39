#!/usr/bin/env bash
# Mutation testing of Python code with mutmut (PyPI), NOT part of CI.
#
#   benchmarks/mutate_python.sh [MODULE_GLOB] [TEST_FILES...]
#   benchmarks/mutate_python.sh 'src/guidekg/ingest/casesheet.py' tests/test_bad_input.py tests/test_casesheet.py
#   benchmarks/mutate_python.sh 'src/guidekg/server/sparql.py' tests/test_server_sparql.py tests/test_security.py   # the query guard
#
# mutmut edits files in place, so it runs in a throw-away copy of the checkout (never in your tree).
# It uses its own virtualenv (mutmut 2.5.x: one runner command per mutant) layered over the project's
# venv. Budget: MUTMUT_TIMEOUT seconds (default 1200). Results: the copy's `mutmut results`, printed.
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
target=${1:-src/guidekg/ingest/casesheet.py}
shift || true
tests=${*:-tests/test_bad_input.py}
work=$(mktemp -d /tmp/guidekg-mutmut.XXXXXX)
venv=${MUTMUT_VENV:-/tmp/guidekg-mutmut-venv}
project_python=${PROJECT_PYTHON:-python3}
site=$($project_python -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')

if [ ! -x "$venv/bin/mutmut" ]; then
    python3 -m venv "$venv"
    "$venv/bin/pip" install -q "mutmut==2.5.1"
fi
cp -r "$here/src" "$here/tests" "$here/ontology" "$here/shapes" "$here/queries" "$here/examples" "$here/pyproject.toml" "$work/"
cd "$work"
export PYTHONPATH="$work/src:$work/tests:$site"
runner="$project_python -m pytest -x -q -p no:cacheprovider -m 'not slow' $tests"
echo "mutating $target; runner: $runner; copy: $work"
timeout "${MUTMUT_TIMEOUT:-1200}" "$venv/bin/mutmut" run --paths-to-mutate "$target" --runner "$runner" --tests-dir tests \
    --no-progress || true
"$venv/bin/mutmut" results || true
