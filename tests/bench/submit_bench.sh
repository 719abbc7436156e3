#!/usr/bin/env bash
# POST /api/submit through nginx + FastCGI, side by side with pgbench running the endpoint's
# own transaction (submit_tx.sql: the statements of fiable-submit, in its order, through the
# same triggers), at 4 and 32 connections: FIABLE_BENCH_PAIRS (5) alternating pairs of
# FIABLE_BENCH_SECONDS (10) s, medians, p99 of both sides, the load of the machine with every
# line. Then the audit chain's cost: the app as it is against the same app on a throwaway
# copy of the database whose audit_logs has no INSERT trigger (the bench makes that copy and
# drops it), alternating pairs at 32 connections. Prints, never fails on a timing. Run with
# `scripts/dev bench -R bench.submit` (optimised build, no sanitizers).
set -euo pipefail
# La pile que ctest a démarrée (fixture stack.up), si l'environnement ne la décrit pas.
source "$(dirname "${BASH_SOURCE[0]}")/../lib/env.sh"
: "${FIABLE_TEST_BASE_URL:?lancez ce banc d’essai avec scripts/dev bench}"
: "${FIABLE_TEST_PG:?lancez ce banc d’essai avec scripts/dev bench}"
: "${FIABLE_TEST_DEV:?lancez ce banc d’essai avec scripts/dev bench}"
dev=$FIABLE_TEST_DEV
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
seconds=${FIABLE_BENCH_SECONDS:-10}
pairs=${FIABLE_BENCH_PAIRS:-5}
connections=${FIABLE_BENCH_SUBMIT_CONNECTIONS:-4 32}
chain_connections=${FIABLE_BENCH_CHAIN_CONNECTIONS:-32}
PG_BIN=/usr/lib/postgresql/15/bin
psql_q() { "$PG_BIN/psql" -X -A -t -q -v ON_ERROR_STOP=1 -d "$FIABLE_TEST_PG" "$@"; }
load() { cut -d' ' -f1-3 /proc/loadavg; }
median() { sort -g | awk '{ v[NR] = $1 } END { if (NR % 2) print v[(NR + 1) / 2]; else printf "%.3f\n", (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }

command -v wrk >/dev/null || { echo "wrk manque : apt-get install wrk" >&2; exit 1; }
SLOTS=$(psql_q -c "SELECT string_agg(id, ',') FROM (SELECT id FROM creneaux WHERE campagne_id = campagne_par_defaut() AND retire_at IS NULL ORDER BY starts_at, id LIMIT 2) s")
export SLOTS
slots_json=$(psql_q -c "SELECT json_agg(x)::text FROM unnest(string_to_array('$SLOTS', ',')) AS x")
workers=$("$dev" worker-pids submit 2>/dev/null | wc -l || echo "?")
copy=fiable_banc_sans_chaine

tmp=$(mktemp -d)
# The mail sender (fiable-mail-outbox --watch) is stopped during the measures: otherwise it
# delivers the receipts queued by one measure while the next one runs, to a test SMTP server
# written in Python, and the two compete for the same two cores. Both sides queue the
# receipt in their transaction; neither sends it. At exit: fiable-submit back on the test
# database with its usual number of processes, the copy dropped.
"$dev" mailer-stop >/dev/null
cleanup() {
	if [[ -n ${moved:-} ]]; then
		"$dev" fcgi-scale submit "$workers" >/dev/null 2>&1 || echo "fiable-submit non redémarré sur la base fiable" >&2
	fi
	psql_q -c "DROP DATABASE IF EXISTS $copy WITH (FORCE)" >/dev/null 2>&1 || true
	"$dev" mailer-start >/dev/null
	rm -rf "$tmp"
}
trap cleanup EXIT

# One measure of the app: "rps p50_ms p99_ms errors".
app_measure() {
	local c=$1 s=$2 out line
	out=$(wrk -t"$((c < 2 ? 1 : 2))" -c"$c" -d"${s}s" --latency -s "$here/submit.lua" "$FIABLE_TEST_BASE_URL" 2>&1)
	line=$(grep '^RESULT' <<<"$out" || true)
	[[ -n $line ]] || { echo "$out" >&2; echo "0 0 0 -1"; return; }
	sed -E 's/.*rps=([0-9.]+) p50_ms=([0-9.]+) p99_ms=([0-9.]+) errors=([0-9]+).*/\1 \2 \3 \4/' <<<"$line"
}

# One measure of pgbench (the conninfo as its last argument, pgbench 15 has no --dbname;
# never -d, which is --debug for pgbench):
# "tps p50_ms p99_ms failed", latencies from its per-transaction log.
pg_measure() {
	local c=$1 s=$2 out tps lat
	rm -f "$tmp"/log/pgb.*
	out=$(mkdir -p "$tmp/log" && cd "$tmp/log" && "$PG_BIN/pgbench" -n -M prepared -c "$c" -j 2 -T "$s" -l --log-prefix=pgb \
		-D "slots=$slots_json" -f "$here/submit_tx.sql" "$FIABLE_TEST_PG" 2>&1) || true
	tps=$(sed -nE 's/^tps = ([0-9.]+).*/\1/p' <<<"$out" | head -n 1)
	[[ -n $tps ]] || { echo "$out" >&2; echo "0 0 0 -1"; return; }
	# Column 3 of pgbench's log: the transaction's latency in µs.
	lat=$(cat "$tmp"/log/pgb.* | awk '{ print $3 }' | sort -n | awk '{ v[NR] = $1 } END {
		if (NR == 0) { print "0 0"; exit }
		i50 = int(NR * 0.50); if (i50 < 1) i50 = 1; i99 = int(NR * 0.99); if (i99 < 1) i99 = 1
		printf "%.2f %.2f\n", v[i50] / 1000, v[i99] / 1000 }')
	echo "$tps $lat $(sed -nE 's/^number of failed transactions: ([0-9]+).*/\1/p' <<<"$out" | head -n 1)"
}

ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf (b > 0 ? "%.3f" : "?"), a / b }'; }

echo "Banc d'essai de POST /api/submit : $pairs paires alternées de ${seconds} s, $workers processus fiable-submit, $(nproc) cœurs ; charge au départ : $(load)"
echo "pgbench : tests/bench/submit_tx.sql (la transaction de l'endpoint), autant de clients que de connexions"
printf '%-6s %-6s %10s %8s %8s %10s %8s %8s %7s  %s\n' conn paire "app req/s" "p50 ms" "p99 ms" "pgb tps" "p50 ms" "p99 ms" ratio "charge"
for c in $connections; do
	app_measure "$c" 2 >/dev/null # warm-up of both sides
	pg_measure "$c" 2 >/dev/null
	: >"$tmp/app.$c"
	: >"$tmp/pgb.$c.txt"
	for ((i = 1; i <= pairs; i++)); do
		read -r a_rps a_p50 a_p99 a_err < <(app_measure "$c" "$seconds")
		read -r p_tps p_p50 p_p99 p_err < <(pg_measure "$c" "$seconds")
		echo "$a_rps $a_p50 $a_p99" >>"$tmp/app.$c"
		echo "$p_tps $p_p50 $p_p99" >>"$tmp/pgb.$c.txt"
		printf '%-6s %-6s %10s %8s %8s %10s %8s %8s %7s  %s' "$c" "$i" "$a_rps" "$a_p50" "$a_p99" \
			"$p_tps" "$p_p50" "$p_p99" "$(ratio "$a_rps" "$p_tps")" "$(load)"
		((a_err == 0 && ${p_err:-0} == 0)) && echo || echo "   (erreurs : app $a_err, pgbench ${p_err:-?})"
	done
	for k in 1 2 3; do
		eval "am$k=\$(cut -d' ' -f$k \"\$tmp/app.\$c\" | median)"
		eval "pm$k=\$(cut -d' ' -f$k \"\$tmp/pgb.\$c.txt\" | median)"
	done
	# shellcheck disable=SC2154 # am1..pm3: set by the eval above
	printf '%-6s %-6s %10s %8s %8s %10s %8s %8s %7s  %s\n' "$c" médiane "$am1" "$am2" "$am3" \
		"$pm1" "$pm2" "$pm3" "$(ratio "$am1" "$pm1")" "$(load)"
done
echo "Objectif (issue 18) : rapport ≥ 0,85 à 4 et à 32 connexions ; p99 < 25 ms à 32 connexions."

# The chain's cost. The copy is made with pg_dump (CREATE DATABASE ... TEMPLATE would need
# the workers off the test database); every INSERT trigger of audit_logs is dropped in it.
echo
echo "Coût de la chaîne d'audit : l'application telle quelle (base fiable) contre la même sur une copie jetable sans déclencheur INSERT sur audit_logs ($chain_connections connexions)"
psql_q -c "DROP DATABASE IF EXISTS $copy WITH (FORCE)" -c "CREATE DATABASE $copy" >/dev/null
"$PG_BIN/pg_dump" --dbname="$FIABLE_TEST_PG" | "$PG_BIN/psql" -X -q -v ON_ERROR_STOP=1 \
	--dbname="${FIABLE_TEST_PG/dbname=fiable /dbname=$copy }" >/dev/null
dropped=$("$PG_BIN/psql" -X -A -t -q -v ON_ERROR_STOP=1 --dbname="${FIABLE_TEST_PG/dbname=fiable /dbname=$copy }" <<'SQL'
DO $$
DECLARE t record;
BEGIN
    -- tgtype bit 2 (4): an INSERT trigger.
    FOR t IN SELECT tgname FROM pg_trigger
             WHERE tgrelid = 'audit_logs'::regclass AND NOT tgisinternal AND tgtype & 4 <> 0 LOOP
        EXECUTE format('DROP TRIGGER %I ON audit_logs', t.tgname);
        RAISE NOTICE '%', t.tgname;
    END LOOP;
END $$;
SELECT coalesce(string_agg(tgname, ', '), 'aucun') FROM pg_trigger
 WHERE tgrelid = 'audit_logs'::regclass AND NOT tgisinternal AND tgtype & 4 <> 0;
SQL
)
echo "Déclencheurs INSERT restant sur audit_logs dans la copie : $dropped"
printf '%-6s %10s %8s %8s %12s %8s %8s %7s  %s\n' paire "avec req/s" "p50 ms" "p99 ms" "sans req/s" "p50 ms" "p99 ms" "coût" charge
: >"$tmp/with"
: >"$tmp/without"
for ((i = 1; i <= pairs; i++)); do
	moved=1
	"$dev" fcgi-scale submit "$workers" >/dev/null
	app_measure "$chain_connections" 2 >/dev/null
	read -r w_rps w_p50 w_p99 _ < <(app_measure "$chain_connections" "$seconds")
	"$dev" fcgi-scale submit "$workers" "$copy" >/dev/null
	app_measure "$chain_connections" 2 >/dev/null
	read -r n_rps n_p50 n_p99 _ < <(app_measure "$chain_connections" "$seconds")
	echo "$w_rps $w_p50 $w_p99" >>"$tmp/with"
	echo "$n_rps $n_p50 $n_p99" >>"$tmp/without"
	printf '%-6s %10s %8s %8s %12s %8s %8s %7s  %s\n' "$i" "$w_rps" "$w_p50" "$w_p99" "$n_rps" "$n_p50" "$n_p99" \
		"$(awk -v a="$w_rps" -v b="$n_rps" 'BEGIN { printf (b > 0 ? "%.1f %%" : "?"), 100 * (1 - a / b) }')" "$(load)"
done
for k in 1 2 3; do
	eval "wm$k=\$(cut -d' ' -f$k \"\$tmp/with\" | median)"
	eval "nm$k=\$(cut -d' ' -f$k \"\$tmp/without\" | median)"
done
# shellcheck disable=SC2154 # wm1..nm3: set by the eval above
printf '%-6s %10s %8s %8s %12s %8s %8s %7s  %s\n' médiane "$wm1" "$wm2" "$wm3" "$nm1" "$nm2" "$nm3" \
	"$(awk -v a="$wm1" -v b="$nm1" 'BEGIN { printf (b > 0 ? "%.1f %%" : "?"), 100 * (1 - a / b) }')" "$(load)"
echo "Objectif (issue 18) : coût de la chaîne < 3 %."
echo "Charge à la fin : $(load)"
