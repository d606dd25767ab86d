#!/usr/bin/env bash
# Fuzzes a running Hotpot server with Schemathesis against its own OpenAPI document (GET /openapi.json):
# every operation, every check (5xx, lost connections, status codes, content types, response schemas and
# headers, schema-valid requests refused, schema-invalid requests accepted, undeclared methods, auth).
# Exits non-zero on any failure. See docs/fuzzing.md.
#
#   Tests/fuzz/schemathesis.sh http://127.0.0.1:8080
#
# Environment:
#   HOTPOT_FUZZ_KEY              the API key to send (Authorization: Bearer); unset or empty: no key
#   HOTPOT_FUZZ_EXAMPLES         test cases per operation and phase (default 10; CI uses a few)
#   HOTPOT_FUZZ_PROFILE          `full` (default) or `ci`: the bounded CI run, see ci.toml
#   HOTPOT_FUZZ_MAX_TIME         optional time budget in seconds: fuzzing repeats until it is spent
#   HOTPOT_FUZZ_PHASES           optional phase list (default: examples,coverage,fuzzing,stateful)
#   HOTPOT_FUZZ_SEED             optional seed, to repeat a run
#   HOTPOT_FUZZ_SCHEMA           the document to test against (default: <base URL>/openapi.json, the one the
#                                server serves); a file such as docs/openapi.json while editing it
#   HOTPOT_FUZZ_REPORT_DIR       where the JUnit report and the full output go (default: a temporary directory)
#   HOTPOT_FUZZ_PROTECT_KEYS     key prefixes the run must not revoke (comma-separated; see hooks.py)
#   HOTPOT_FUZZ_PROTECT_TENANTS  tenant slugs the run must not delete or add keys to (comma-separated)
#   HOTPOT_FUZZ_TENANT           the run's own tenant, to which the global admin key may add keys
#   HOTPOT_FUZZ_TIMEOUT          seconds after which the run is stopped and fails (default: none)
#   HOTPOT_FUZZ_LEDGER           where hooks.py writes the request counts and what the run created
#                                (default: ledger.json in the report directory)
set -euo pipefail

here="$(cd "$(dirname "$0")" && pwd)"
base="${1:?usage: $0 <base URL, e.g. http://127.0.0.1:8080>}"
base="${base%/}"

if ! command -v schemathesis >/dev/null 2>&1 && ! python3 -c 'import schemathesis' >/dev/null 2>&1; then
  echo "schemathesis is not installed: python3 -m pip install schemathesis (.ci/run does this)" >&2
  exit 127
fi
if command -v schemathesis >/dev/null 2>&1; then st=(schemathesis); else st=(python3 -m schemathesis.cli); fi

schema="${HOTPOT_FUZZ_SCHEMA:-$base/openapi.json}"
if [ -f "$schema" ]; then schema="$(cd "$(dirname "$schema")" && pwd)/$(basename "$schema")"; fi

report="${HOTPOT_FUZZ_REPORT_DIR:-}"
if [ -z "$report" ]; then report="$(mktemp -d "${TMPDIR:-/tmp}/hotpot-fuzz.XXXXXX")"; fi
mkdir -p "$report"
report="$(cd "$report" && pwd)"

# The settings file, plus the key as the document's bearerAuth scheme (so the auth checks know it).
config="$report/schemathesis.toml"
cp "$here/schemathesis.toml" "$config"
case "${HOTPOT_FUZZ_PROFILE:-full}" in
  full) ;;
  ci) cat "$here/ci.toml" >> "$config" ;;
  *) echo "HOTPOT_FUZZ_PROFILE must be full or ci" >&2; exit 2 ;;
esac
if [ -n "${HOTPOT_FUZZ_KEY:-}" ]; then
  printf '\n[auth.openapi.bearerAuth]\nbearer = "${HOTPOT_FUZZ_KEY}"\n' >> "$config"
fi

args=(
  run "$schema" --url "$base"
  --max-examples "${HOTPOT_FUZZ_EXAMPLES:-10}"
  --phases "${HOTPOT_FUZZ_PHASES:-examples,coverage,fuzzing,stateful}"
  --report junit --report-dir "$report" --report-junit-path "$report/junit.xml"
  --no-color
)
if [ -n "${HOTPOT_FUZZ_MAX_TIME:-}" ]; then args+=(--max-time "$HOTPOT_FUZZ_MAX_TIME"); fi
if [ -n "${HOTPOT_FUZZ_SEED:-}" ]; then args+=(--seed "$HOTPOT_FUZZ_SEED"); fi

export SCHEMATHESIS_HOOKS="$here/hooks.py"
export HOTPOT_FUZZ_BASE="$base"
export HOTPOT_FUZZ_LEDGER="${HOTPOT_FUZZ_LEDGER:-$report/ledger.json}"
# Run from the report directory, so nothing Schemathesis or Hypothesis writes lands in the checkout.
cd "$report"
set +e
limit=()
if [ -n "${HOTPOT_FUZZ_TIMEOUT:-}" ] && command -v timeout >/dev/null 2>&1; then limit=(timeout --kill-after=10 "$HOTPOT_FUZZ_TIMEOUT"); fi
"${limit[@]}" "${st[@]}" --config-file "$config" "${args[@]}" 2>&1 | tee "$report/output.txt"
status=${PIPESTATUS[0]}
set -e
if [ -n "${HOTPOT_FUZZ_TIMEOUT:-}" ] && { [ "$status" = 124 ] || [ "$status" = 137 ]; }; then echo "the run did not finish within HOTPOT_FUZZ_TIMEOUT=${HOTPOT_FUZZ_TIMEOUT}s and was stopped"; fi
# A short account for people and for the Swift test's failure message (which quotes what follows the marker).
echo "=== hotpot fuzz summary (exit $status; full output and JUnit report in $report) ==="
python3 "$here/summarize.py" "$report" || true
exit "$status"
