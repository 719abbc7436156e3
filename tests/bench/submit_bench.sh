#!/usr/bin/env bash
# Submit throughput and latency through nginx + FastCGI, side by side with pgbench running
# the same SQL transaction as the endpoint, at 8, 32 and 128 connections. Prints, never fails
# on a timing. Run with `scripts/dev bench` (optimised build, no sanitizers).
set -euo pipefail
# La pile que ctest a démarrée (fixture stack.up), si l'environnement ne la décrit pas.
source "$(dirname "${BASH_SOURCE[0]}")/../lib/env.sh"
: "${FIABLE_TEST_BASE_URL:?lancez ce banc d’essai avec scripts/dev bench}"
: "${FIABLE_TEST_PG:?lancez ce banc d’essai avec scripts/dev bench}"
: "${FIABLE_TEST_DEV:?lancez ce banc d’essai avec scripts/dev bench}"
dev=$FIABLE_TEST_DEV
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
seconds=${FIABLE_BENCH_SECONDS:-10}
PG_BIN=/usr/lib/postgresql/15/bin
psql_q() { "$PG_BIN/psql" -X -A -t -q -v ON_ERROR_STOP=1 -d "$FIABLE_TEST_PG" "$@"; }

command -v wrk >/dev/null || { echo "wrk manque : apt-get install wrk" >&2; exit 1; }
SLOTS=$(psql_q -c "SELECT string_agg(id, ',') FROM (SELECT id FROM creneaux ORDER BY starts_at, id LIMIT 2) s")
export SLOTS
s1=${SLOTS%%,*}
s2=${SLOTS##*,}

tmp=$(mktemp -d)
# The mail sender (fiable-mail-outbox --watch) is stopped during the measures: otherwise it
# delivers the receipts queued by one measure while the next one runs, to a test SMTP server
# written in Python, and the two compete for the same two cores. Both sides queue the
# receipt in their transaction; neither sends it.
"$dev" mailer-stop >/dev/null
trap '"$dev" mailer-start >/dev/null; rm -rf "$tmp"' EXIT
# The transaction of POST /api/submit (lib/statements.c; the audit row and COMMIT in one round
# trip, as lib/audit.c sends them).
cat >"$tmp/submit.sql" <<SQL
\set n random(1, 1000000000000)
SELECT x FROM jsonb_array_elements_text('["$s1","$s2"]'::jsonb) AS x WHERE NOT EXISTS (SELECT 1 FROM creneaux c WHERE c.id = x);
BEGIN;
INSERT INTO idempotency_keys (key_sha256, endpoint, payload_sha256) VALUES (sha256(convert_to(md5(:client_id || '-' || :n), 'UTF8')), 'POST /api/submit', sha256((:n)::text::bytea)) ON CONFLICT (key_sha256) DO NOTHING RETURNING 1 AS claimed \gset
INSERT INTO soumissions_disponibilites (email, nom, creneaux, commentaire, edit_token_hash) VALUES ('pgb-' || :client_id || '-' || :n || '@example.org', 'Banc d''essai', '["$s1","$s2"]'::jsonb, 'pgbench', sha256((:n)::text::bytea)) RETURNING id, version, created_at::text AS created \gset
SELECT enabled FROM feature_flags WHERE name = 'email_links';
INSERT INTO mail_outbox (kind, recipient, subject, body, submission_id) VALUES ('receipt', 'pgb@example.org', 'Sujet', 'Corps', :id) RETURNING id AS mail_id \gset
INSERT INTO request_metrics (endpoint, method, status, duration_us) VALUES ('/api/submit', 'POST', 201, 1000);
UPDATE idempotency_keys SET status_code = 201, response_body = '{"id":1}', submission_id = :id WHERE key_sha256 = sha256(convert_to(md5(:client_id || '-' || :n), 'UTF8'));
\startpipeline
INSERT INTO audit_logs (action, entity, entity_id, actor, client_addr, user_agent, request_id, details) VALUES ('submission.create', 'soumissions_disponibilites', :id, 'pgb@example.org', '127.0.0.1', 'pgbench', 'x', '{"version":1}'::jsonb);
COMMIT;
\endpipeline
SQL

workers=$(FIABLE_VAR=${FIABLE_VAR:-} "$dev" worker-pids submit 2>/dev/null | wc -l || echo "?")
echo "Banc d'essai de POST /api/submit : ${seconds} s par mesure, $workers processus fiable-submit, $(nproc) cœurs"
printf '%-12s %12s %10s %10s %12s %8s\n' connexions "app req/s" "p50 ms" "p99 ms" "pgbench tps" ratio
for c in 8 32 128; do
	threads=$((c < 2 ? 1 : 2))
	out=$(wrk -t"$threads" -c"$c" -d"${seconds}s" --latency -s "$here/submit.lua" "$FIABLE_TEST_BASE_URL" 2>&1)
	line=$(grep '^RESULT' <<<"$out" || true)
	if [[ -z $line ]]; then
		echo "$out" >&2
		continue
	fi
	rps=$(sed -E 's/.*rps=([0-9.]+).*/\1/' <<<"$line")
	p50=$(sed -E 's/.*p50_ms=([0-9.]+).*/\1/' <<<"$line")
	p99=$(sed -E 's/.*p99_ms=([0-9.]+).*/\1/' <<<"$line")
	errors=$(sed -E 's/.*errors=([0-9]+).*/\1/' <<<"$line")
	# pgbench is limited by max_connections (100): it runs at most 64 clients.
	pc=$((c > 64 ? 64 : c))
	tps=$("$PG_BIN/pgbench" -n -M prepared -c "$pc" -j 2 -T "$seconds" -f "$tmp/submit.sql" \
		-d "$FIABLE_TEST_PG" 2>&1 | sed -nE 's/^tps = ([0-9.]+).*/\1/p' | head -n 1 || true)
	ratio=$(awk -v a="$rps" -v b="${tps:-0}" 'BEGIN { if (b > 0) printf "%.0f %%", 100 * a / b; else print "?" }')
	printf '%-12s %12s %10s %10s %12s %8s' "$c" "$rps" "$p50" "$p99" "${tps:-?}${pc:+ (c=$pc)}" "$ratio"
	((errors == 0)) && echo || echo "   ($errors erreurs ou réponses non 2xx)"
done
echo "Objectif : au moins 85 % de pgbench à 32 connexions, p99 < 25 ms à 32 connexions."
