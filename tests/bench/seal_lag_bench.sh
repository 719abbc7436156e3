#!/usr/bin/env bash
# Seal lag of the audit chain (sql/0026): POST /api/submit at full speed (wrk, 32
# connections) while fiable-audit-sealer --watch runs as the stack runs it; then, for every
# audit row written during the run, the time from its transaction to its link in audit_chain
# (sealed_at - created_at: created_at is the writing transaction's start, so this bounds the
# commit-to-seal delay from above by the transaction's own few milliseconds). Prints p50,
# p99 and the maximum, never fails on a timing. Run with `scripts/dev bench`.
set -euo pipefail
# La pile que ctest a démarrée (fixture stack.up), si l'environnement ne la décrit pas.
source "$(dirname "${BASH_SOURCE[0]}")/../lib/env.sh"
: "${FIABLE_TEST_BASE_URL:?lancez ce banc d’essai avec scripts/dev bench}"
: "${FIABLE_TEST_PG:?lancez ce banc d’essai avec scripts/dev bench}"
: "${FIABLE_TEST_DEV:?lancez ce banc d’essai avec scripts/dev bench}"
dev=$FIABLE_TEST_DEV
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
seconds=${FIABLE_BENCH_SECONDS:-10}
connections=${FIABLE_BENCH_CONNECTIONS:-32}
psql_q() { /usr/lib/postgresql/15/bin/psql -X -A -t -q -v ON_ERROR_STOP=1 -d "$FIABLE_TEST_PG" "$@"; }

command -v wrk >/dev/null || { echo "wrk manque : apt-get install wrk" >&2; exit 1; }
SLOTS=$(psql_q -c "SELECT string_agg(id, ',') FROM (SELECT id FROM creneaux ORDER BY starts_at, id LIMIT 2) s")
export SLOTS
# As in submit_bench.sh: the mail sender would compete for the two cores.
"$dev" mailer-stop >/dev/null
trap '"$dev" mailer-start >/dev/null' EXIT
"$dev" sealer-start >/dev/null

first=$(psql_q -c "SELECT coalesce(max(id), 0) FROM audit_logs")
out=$(wrk -t2 -c"$connections" -d"${seconds}s" --latency -s "$here/submit.lua" "$FIABLE_TEST_BASE_URL" 2>&1)
line=$(grep '^RESULT' <<<"$out" || true)
[[ -n $line ]] || echo "$out" >&2
# Every row of the run sealed (the event), within a generous ceiling.
for _ in $(seq 1 600); do
	left=$(psql_q -c "SELECT count(*) FROM audit_logs a WHERE a.id > $first AND NOT EXISTS (SELECT 1 FROM audit_chain c WHERE c.audit_id = a.id)")
	[[ $left == 0 ]] && break
	sleep 0.1
done
echo "Délai de scellement du journal d'audit : POST /api/submit ${seconds} s à $connections connexions, $(nproc) cœurs, charge $(cut -d' ' -f1 /proc/loadavg)"
echo "soumissions : ${line#RESULT }"
psql_q -F ' ' -c "SELECT 'lignes=' || count(*),
	'p50_ms=' || round((percentile_cont(0.5) WITHIN GROUP (ORDER BY d) * 1000)::numeric, 1),
	'p99_ms=' || round((percentile_cont(0.99) WITHIN GROUP (ORDER BY d) * 1000)::numeric, 1),
	'max_ms=' || round((max(d) * 1000)::numeric, 1),
	'non_scellees=' || $left
	FROM (SELECT extract(epoch FROM c.sealed_at - a.created_at) AS d FROM audit_logs a
	      JOIN audit_chain c ON c.audit_id = a.id WHERE a.id > $first) s"
