#!/usr/bin/env bash
# GET /api/form?campagne=<slug> (fiable-form, body from its per-worker cache, metrics in
# batches) against nginx serving a static file of the same size, in the same run: 32
# connections, FIABLE_BENCH_PAIRS (5) alternating pairs of FIABLE_BENCH_SECONDS (10) s,
# medians of each side and their ratio. Prints, never fails on a timing. Run with
# `scripts/dev bench -R bench.form_api` (optimised build, no sanitizers).
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/../lib/env.sh"
: "${FIABLE_TEST_BASE_URL:?lancez ce banc d’essai avec scripts/dev bench}"
: "${FIABLE_TEST_PG:?lancez ce banc d’essai avec scripts/dev bench}"
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/../.." && pwd)
seconds=${FIABLE_BENCH_SECONDS:-10}
pairs=${FIABLE_BENCH_PAIRS:-5}
connections=32
PG_BIN=/usr/lib/postgresql/15/bin
psql_q() { "$PG_BIN/psql" -X -A -t -q -v ON_ERROR_STOP=1 -d "$FIABLE_TEST_PG" "$@"; }

command -v wrk >/dev/null || { echo "wrk manque : apt-get install wrk" >&2; exit 1; }
slug=${FIABLE_BENCH_FORM_SLUG:-$(psql_q -c "SELECT slug FROM campagnes WHERE etat = 'ouverte' ORDER BY id LIMIT 1")}
[[ -n $slug ]] || { echo "aucune campagne ouverte dans la base du banc" >&2; exit 1; }
app_path="/api/form?campagne=$slug"

# The reference: the same bytes as a file under the stack's nginx root (the static/ of this
# tree), removed at exit. Same server block, so the same headers are added to both.
name="banc-formulaire-$$.json"
file="$root/static/$name"
tmp=$(mktemp -d)
trap 'rm -f "$file"; rm -rf "$tmp"' EXIT
curl -fsS -o "$tmp/body" "$FIABLE_TEST_BASE_URL$app_path"
cp "$tmp/body" "$file"
chmod 0644 "$file"
size=$(stat -c %s "$file")
static_size=$(curl -fsS "$FIABLE_TEST_BASE_URL/$name" | wc -c)
((static_size == size)) || { echo "le fichier de référence fait $static_size octets, pas $size" >&2; exit 1; }

# One measure: "rps p99_ms errors" of wrk on a path.
measure() {
	local out line
	out=$(wrk -t2 -c"$connections" -d"$2s" --latency -s "$here/form_get.lua" "$FIABLE_TEST_BASE_URL$1" 2>&1)
	line=$(grep '^RESULT' <<<"$out" || true)
	[[ -n $line ]] || { echo "$out" >&2; echo "0 0 -1"; return; }
	sed -E 's/.*rps=([0-9.]+) p50_ms=[0-9.]+ p99_ms=([0-9.]+) errors=([0-9]+).*/\1 \2 \3/' <<<"$line"
}
median() { sort -g | awk '{ v[NR] = $1 } END { if (NR % 2) print v[(NR + 1) / 2]; else printf "%.3f\n", (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
load() { cut -d' ' -f1-3 /proc/loadavg; }

workers=$("$FIABLE_TEST_DEV" worker-pids form 2>/dev/null | wc -l || echo "?")
echo "Banc d'essai de GET $app_path ($size octets) contre nginx et un fichier statique de même taille"
echo "$connections connexions, $pairs paires alternées de ${seconds} s, $workers processus fiable-form, $(nproc) cœurs ; charge au départ : $(load)"
before=$(psql_q -c "SELECT coalesce(max(id), 0) FROM request_metrics")
measure "$app_path" 2 >/dev/null    # warm-up: caches filled, connections open
measure "/$name" 2 >/dev/null
: >"$tmp/app"
: >"$tmp/static"
printf '%-6s %12s %10s %12s %10s %8s\n' paire "app req/s" "p99 ms" "nginx req/s" "p99 ms" ratio
for ((i = 1; i <= pairs; i++)); do
	read -r a_rps a_p99 a_err < <(measure "$app_path" "$seconds")
	read -r s_rps s_p99 s_err < <(measure "/$name" "$seconds")
	echo "$a_rps $a_p99" >>"$tmp/app"
	echo "$s_rps $s_p99" >>"$tmp/static"
	ratio=$(awk -v a="$a_rps" -v b="$s_rps" 'BEGIN { printf (b > 0 ? "%.3f" : "?"), a / b }')
	printf '%-6s %12s %10s %12s %10s %8s' "$i" "$a_rps" "$a_p99" "$s_rps" "$s_p99" "$ratio"
	((a_err == 0 && s_err == 0)) && echo || echo "   (erreurs : app $a_err, nginx $s_err)"
done
a_rps=$(cut -d' ' -f1 "$tmp/app" | median)
a_p99=$(cut -d' ' -f2 "$tmp/app" | median)
s_rps=$(cut -d' ' -f1 "$tmp/static" | median)
s_p99=$(cut -d' ' -f2 "$tmp/static" | median)
ratio=$(awk -v a="$a_rps" -v b="$s_rps" 'BEGIN { printf (b > 0 ? "%.3f" : "?"), a / b }')
printf '%-6s %12s %10s %12s %10s %8s\n' médiane "$a_rps" "$a_p99" "$s_rps" "$s_p99" "$ratio"
# What the metrics cost: rows of /api/form recorded during the run, and in how many
# transactions (xmin) they were committed.
read -r rows txs < <(psql_q -F ' ' -c "SELECT count(*), count(DISTINCT xmin::text) FROM request_metrics WHERE id > $before AND endpoint = '/api/form'")
echo "Métriques de /api/form enregistrées pendant le banc : $rows lignes en $txs transactions"
echo "Charge à la fin : $(load)"
echo "Objectif : rapport ≥ 0,25 ; p99 < 5 ms à $connections connexions."
