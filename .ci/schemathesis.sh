#!/usr/bin/env bash
# Schema-driven fuzzing: schemathesis (pinned, in a venv cached under .ci/venv) against
# `serve --sandbox` and its OpenAPI 3 document, every check, examples + coverage + fuzzing +
# the stateful phase (the document's links lead subscribe -> DeleteHook). Fails on any failure.
#   SCHEMATHESIS_MAX_EXAMPLES  cases per operation and phase (default 60: well over 1,000 in all)
#   SCHEMATHESIS_WORKERS       concurrent workers (default 1: with the seed, the examples, coverage
#                              and fuzzing phases then send the same cases on any machine; only the
#                              stateful phase's length depends on the time budget)
#   SCHEMATHESIS_MAX_TIME      time budget in seconds (default 180)
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
version=4.32.5
venv=.ci/venv

if ! "$venv/bin/st" --version 2>/dev/null | grep -q "$version"; then
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet --disable-pip-version-check "schemathesis==$version"
fi

cargo build --quiet
. .ci/sandbox.sh
# No throttle in the way: schemathesis sends thousands of calls a minute on one connection.
start_sandbox GATEWAY_THROTTLE_CALLS=1000000

report="$tmp/report"
status=0
"$venv/bin/st" --config-file .ci/schemathesis.toml run "$base/api-docs/openapi.json" --url "$base" \
  --checks all --auth "$login:$key" \
  --phases "${SCHEMATHESIS_PHASES:-examples,coverage,fuzzing,stateful}" \
  --max-examples "${SCHEMATHESIS_MAX_EXAMPLES:-60}" \
  --max-time "${SCHEMATHESIS_MAX_TIME:-180}" \
  --request-timeout 10 --seed 1 --workers "${SCHEMATHESIS_WORKERS:-1}" --no-color \
  --report ndjson --report-dir "$report" || status=$?

# The run must have generated at least 1,000 cases and reached DeleteHook.
cases=$(python3 .ci/schemathesis_count.py "$report"/*.ndjson)
echo "schemathesis: $cases"
python3 - "$cases" <<'EOF'
import sys
counts = dict(kv.split("=") for kv in sys.argv[1].split())
if int(counts["cases"]) < 1000:
    sys.exit(f"only {counts['cases']} cases generated, at least 1000 wanted")
if int(counts["delete_hook"]) == 0:
    sys.exit("the stateful phase never reached DELETE /webhooks/{hookId}")
EOF
if [ "$status" -ne 0 ]; then
  echo "schemathesis found failures (exit $status); the gateway's log:"
  tail -50 "$tmp/gateway.log"
  exit "$status"
fi
