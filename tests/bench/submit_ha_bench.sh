#!/usr/bin/env bash
# POST /api/submit with a synchronous standby (the HA test stack: Patroni, every COMMIT waits
# for the standby's disk) as a ratio to the single server (the test stack), in the same run:
# 32 connections, measures alternated (single, HA, single, HA), each side's best kept.
# Prints, never fails on a timing. Run with `scripts/dev bench`.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
build=${FIABLE_TEST_BUILD:?lancez ce banc d’essai avec scripts/dev bench}
seconds=${FIABLE_BENCH_SECONDS:-10}
rounds=${FIABLE_BENCH_ROUNDS:-2}
command -v wrk >/dev/null || { echo "wrk manque : apt-get install wrk" >&2; exit 1; }

# measure ENV_FILE : « rps p99_ms erreurs » d'une mesure sur la pile que décrit ce fichier.
measure() (
	unset FIABLE_TEST_BASE_URL
	export FIABLE_TEST_ENV_FILE=$1
	source "$here/../lib/env.sh"
	SLOTS=$(/usr/lib/postgresql/15/bin/psql -X -A -t -q -d "$FIABLE_TEST_PG" \
		-c "SELECT string_agg(id, ',') FROM (SELECT id FROM creneaux ORDER BY starts_at, id LIMIT 2) s")
	export SLOTS
	# L'envoi des courriels arrêté pendant la mesure (voir submit_bench.sh).
	"$FIABLE_TEST_DEV" mailer-stop >/dev/null
	out=$(wrk -t2 -c32 -d"${seconds}s" --latency -s "$here/submit.lua" "$FIABLE_TEST_BASE_URL" 2>&1 || true)
	"$FIABLE_TEST_DEV" mailer-start >/dev/null
	line=$(grep '^RESULT' <<<"$out" || true)
	[[ -n $line ]] || { echo "$out" >&2; echo "0 0 1"; exit 0; }
	sed -E 's/.*rps=([0-9.]+).*p99_ms=([0-9.]+).*errors=([0-9]+).*/\1 \2 \3/' <<<"$line"
)

best_single=0 best_single_p99=0 best_ha=0 best_ha_p99=0
echo "POST /api/submit, 32 connexions, ${seconds} s par mesure : un serveur / standby synchrone (Patroni)"
for ((r = 1; r <= rounds; r++)); do
	read -r rps p99 err < <(measure "$build/fiable-test.env")
	printf '  un serveur      : %8s req/s  p99 %6s ms  (%s erreurs)\n' "$rps" "$p99" "$err"
	if awk -v a="$rps" -v b="$best_single" 'BEGIN { exit !(a > b) }'; then best_single=$rps best_single_p99=$p99; fi
	read -r rps p99 err < <(measure "$build/fiable-test-ha.env")
	printf '  standby synchr. : %8s req/s  p99 %6s ms  (%s erreurs)\n' "$rps" "$p99" "$err"
	if awk -v a="$rps" -v b="$best_ha" 'BEGIN { exit !(a > b) }'; then best_ha=$rps best_ha_p99=$p99; fi
done
awk -v s="$best_single" -v h="$best_ha" -v sp="$best_single_p99" -v hp="$best_ha_p99" 'BEGIN {
	printf "Standby synchrone / un serveur : débit %.2f, p99 %.2f (%s / %s req/s, p99 %s / %s ms)\n",
		(s > 0 ? h / s : 0), (sp > 0 ? hp / sp : 0), h, s, hp, sp }'
