#!/usr/bin/env bash
# Worker counts and GET /api/form options from measurement (issues 18 and 15). Each variant
# is set up on the running test stack (scripts/dev fcgi-scale restarts a program with N
# processes; the micro-cache is three lines added to the stack's generated nginx.conf, then
# reloaded, and removed at the end), then measured with wrk at FIABLE_BENCH_CONNECTIONS (32).
# FIABLE_BENCH_ROUNDS (3) rounds; in each round every variant is measured once, in an order
# rotated from round to round, and nginx serving the same bytes as a static file is measured
# once (the reference of the form's ratio). Medians per variant; the load of the machine with
# every line. Prints, never fails on a timing. `scripts/dev bench -R bench.workers`.
#   FIABLE_BENCH_SUBMIT_WORKERS  counts of fiable-submit to measure ("2 4 8 16"; "" skips)
#   FIABLE_BENCH_FORM_VARIANTS   variants of GET /api/form ("1 2 4 8 cache"; N: N processes
#                                of fiable-form; cache: 2 processes behind nginx's micro-cache)
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/../lib/env.sh"
: "${FIABLE_TEST_BASE_URL:?lancez ce banc d’essai avec scripts/dev bench}"
: "${FIABLE_TEST_PG:?lancez ce banc d’essai avec scripts/dev bench}"
: "${FIABLE_TEST_DEV:?lancez ce banc d’essai avec scripts/dev bench}"
: "${FIABLE_VAR:?lancez ce banc d’essai avec scripts/dev bench}"
dev=$FIABLE_TEST_DEV
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/../.." && pwd)
seconds=${FIABLE_BENCH_SECONDS:-10}
rounds=${FIABLE_BENCH_ROUNDS:-3}
connections=${FIABLE_BENCH_CONNECTIONS:-32}
submit_counts=${FIABLE_BENCH_SUBMIT_WORKERS-2 4 8 16}
form_variants=${FIABLE_BENCH_FORM_VARIANTS-1 2 4 8 cache}
PG_BIN=/usr/lib/postgresql/15/bin
psql_q() { "$PG_BIN/psql" -X -A -t -q -v ON_ERROR_STOP=1 -d "$FIABLE_TEST_PG" "$@"; }
load() { cut -d' ' -f1-3 /proc/loadavg; }
median() { sort -g | awk '{ v[NR] = $1 } END { if (NR % 2) print v[(NR + 1) / 2]; else printf "%.3f\n", (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
command -v wrk >/dev/null || { echo "wrk manque : apt-get install wrk" >&2; exit 1; }

conf=$FIABLE_VAR/nginx/nginx.conf
submit_workers=$("$dev" worker-pids submit | wc -l)
form_workers=$("$dev" worker-pids form | wc -l)
tmp=$(mktemp -d)
cp "$conf" "$tmp/nginx.conf.orig"
name="banc-formulaire-$$.json"
file="$root/static/$name"
"$dev" mailer-stop >/dev/null
cleanup() {
	cp "$tmp/nginx.conf.orig" "$conf"
	"$dev" nginx-reload || true
	"$dev" fcgi-scale submit "$submit_workers" >/dev/null 2>&1 || echo "fiable-submit non redémarré" >&2
	"$dev" fcgi-scale form "$form_workers" >/dev/null 2>&1 || echo "fiable-form non redémarré" >&2
	"$dev" mailer-start >/dev/null
	rm -f "$file"
	rm -rf "$tmp"
}
trap cleanup EXIT

# "rps p50_ms p99_ms errors" of wrk on a path, with a wrk script.
measure() {
	local path=$1 script=$2 s=$3 out line
	out=$(wrk -t2 -c"$connections" -d"${s}s" --latency -s "$here/$script" "$FIABLE_TEST_BASE_URL$path" 2>&1)
	line=$(grep '^RESULT' <<<"$out" || true)
	[[ -n $line ]] || { echo "$out" >&2; echo "0 0 0 -1"; return; }
	sed -E 's/.*rps=([0-9.]+) p50_ms=([0-9.]+) p99_ms=([0-9.]+) errors=([0-9]+).*/\1 \2 \3 \4/' <<<"$line"
}

# The micro-cache: nginx keeps each 200 of /api/form for 1 s; once expired, one request
# refreshes it in the background while the others get the stale copy (use_stale updating,
# background_update). No fastcgi_cache_lock: nginx's lock waiters poll every 500 ms, which
# measured 200 req/s and a p99 of 1 s. The program's "Cache-Control: no-store" (for the
# browsers, passed on to them unchanged) is ignored by nginx's cache. Lines added to the generated configuration only:
# the shipped site (deploy/nginx/fiable) is unchanged.
micro_cache() {
	cp "$tmp/nginx.conf.orig" "$conf"
	if [[ $1 == on ]]; then
		mkdir -p "$FIABLE_VAR/nginx/cache-formulaire"
		[[ $(id -u) != 0 ]] || chown www-data "$FIABLE_VAR/nginx/cache-formulaire"
		sed -i -E "s|^( *upstream fiable_form .*)$|fastcgi_cache_path $FIABLE_VAR/nginx/cache-formulaire keys_zone=formulaire:1m max_size=16m inactive=10s;\n\1|" "$conf"
		# shellcheck disable=SC2016 # $request_uri is nginx's
		sed -i -E 's|^( *fastcgi_pass fiable_form;)$|\1\n            fastcgi_cache formulaire; fastcgi_cache_key $request_uri; fastcgi_cache_valid 200 1s;\n            fastcgi_cache_use_stale updating; fastcgi_cache_background_update on;\n            fastcgi_ignore_headers Cache-Control Expires;|' "$conf"
		grep -q 'fastcgi_cache formulaire' "$conf" || { echo "micro-cache : ligne fastcgi_pass fiable_form introuvable" >&2; return 1; }
	fi
	"$dev" nginx-reload
	sleep 1 # the old workers finish and exit (SIGHUP)
}

setup() { # program variant
	case $1:$2 in
	submit:*) "$dev" fcgi-scale submit "$2" >/dev/null ;;
	form:cache) micro_cache on; "$dev" fcgi-scale form 2 >/dev/null ;;
	form:static) ;;
	form:*) micro_cache off; "$dev" fcgi-scale form "$2" >/dev/null ;;
	esac
}

# Rounds over the variants of one program, each round rotated by one.
run() { # program path script variants...
	local program=$1 path=$2 script=$3 v i k n rps p50 p99 err
	shift 3
	local variants=("$@")
	n=${#variants[@]}
	printf '%-8s %-6s %-8s %10s %8s %8s  %s\n' programme tour variante "req/s" "p50 ms" "p99 ms" charge
	for ((i = 1; i <= rounds; i++)); do
		for ((k = 0; k < n; k++)); do
			v=${variants[$(((k + i - 1) % n))]}
			setup "$program" "$v"
			local p=$path s=$script
			[[ $v != static ]] || { p="/$name"; s=form_get.lua; }
			measure "$p" "$s" 2 >/dev/null
			read -r rps p50 p99 err < <(measure "$p" "$s" "$seconds")
			echo "$rps $p50 $p99" >>"$tmp/$program.$v"
			printf '%-8s %-6s %-8s %10s %8s %8s  %s' "$program" "$i" "$v" "$rps" "$p50" "$p99" "$(load)"
			((err == 0)) && echo || echo "   ($err erreurs)"
		done
	done
	echo "médianes ($program, $connections connexions) :"
	for v in "${variants[@]}"; do
		printf '%-8s %-6s %-8s %10s %8s %8s' "$program" médiane "$v" "$(cut -d' ' -f1 "$tmp/$program.$v" | median)" \
			"$(cut -d' ' -f2 "$tmp/$program.$v" | median)" "$(cut -d' ' -f3 "$tmp/$program.$v" | median)"
		if [[ -f $tmp/$program.static && $v != static ]]; then
			awk -v a="$(cut -d' ' -f1 "$tmp/$program.$v" | median)" -v b="$(cut -d' ' -f1 "$tmp/$program.static" | median)" \
				'BEGIN { printf "   rapport à nginx (fichier statique) %.3f", a / b }'
		fi
		echo
	done
}

echo "Banc d'essai des nombres de processus : $connections connexions, $rounds tours de ${seconds} s, $(nproc) cœurs ; charge au départ : $(load)"
if [[ -n $submit_counts ]]; then
	SLOTS=$(psql_q -c "SELECT string_agg(id, ',') FROM (SELECT id FROM creneaux WHERE campagne_id = campagne_par_defaut() AND retire_at IS NULL ORDER BY starts_at, id LIMIT 2) s")
	export SLOTS
	# shellcheck disable=SC2086 # a list of counts
	run submit /api/submit submit.lua $submit_counts
	"$dev" fcgi-scale submit "$submit_workers" >/dev/null
fi
if [[ -n $form_variants ]]; then
	slug=$(psql_q -c "SELECT slug FROM campagnes WHERE etat = 'ouverte' ORDER BY id LIMIT 1")
	curl -fsS -o "$file" "$FIABLE_TEST_BASE_URL/api/form?campagne=$slug"
	chmod 0644 "$file"
	# shellcheck disable=SC2086 # a list of variants
	run form "/api/form?campagne=$slug" form_get.lua static $form_variants
	read -r rows txs < <(psql_q -F ' ' -c "SELECT count(*), count(DISTINCT xmin::text) FROM request_metrics WHERE endpoint = '/api/form' AND created_at > now() - interval '1 hour'")
	echo "Métriques de /api/form enregistrées dans la dernière heure : $rows lignes en $txs transactions"
fi
echo "Charge à la fin : $(load)"
