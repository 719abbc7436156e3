# scripts/dev.d/ctest.sh — scripts/dev test et bench : compilation, ctest, examen des journaux
# Sourcé par scripts/dev (fonctions seulement : rien ne s'exécute au chargement).

# Rapports ASan/LSan/UBSan dans les journaux des programmes (leur stderr) : les affiche et échoue.
scan_sanitizer_logs() {
	local f found=0 re='AddressSanitizer|LeakSanitizer|runtime error:'
	for f in "$LOG_DIR"/fiable-*.log; do
		[[ -f $f ]] || continue
		if grep -qE "$re" "$f"; then
			found=1
			echo "===== rapport de sanitizer dans $f :" >&2
			grep -nE -B 2 -A 60 "$re" "$f" >&2
		fi
	done
	if ((found)); then
		echo "ÉCHEC : des rapports ASan/UBSan figurent dans les journaux des programmes." >&2
		return 1
	fi
}

# Après un échec (ou une interruption) de « test » : tout arrêter, montrer les journaux.
test_exit() {
	local rc=$?
	trap - EXIT
	set +e
	stop_all >/dev/null 2>&1
	if ((rc != 0)); then
		print_log_tails >&2
		echo "ÉCHEC de scripts/dev test (code $rc) ; journaux dans $LOG_DIR" >&2
	fi
	exit "$rc"
}

cmd_test() {
	settings_test
	export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=0}
	export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}

	# Repartir de zéro : arrêter ce qui resterait d'une exécution précédente, puis effacer.
	if [[ -e $VAR ]]; then
		[[ -e $VAR/.fiable-var || -z $(ls -A "$VAR") ]] ||
			die "$VAR existe et ne vient pas de scripts/dev (pas de fichier .fiable-var) : refus de l'effacer"
		stop_all
		rm -rf -- "$VAR"
	fi

	trap test_exit EXIT
	trap 'exit 130' INT
	trap 'exit 143' TERM
	do_up

	export FIABLE_TEST_BASE_URL=$BASE_URL
	export FIABLE_TEST_PG=$SUPER_CONNINFO
	export FIABLE_TEST_APP_PG=$APP_CONNINFO
	export FIABLE_TEST_DEV=$SELF
	export FIABLE_TEST_MAILBOX=$MAILBOX FIABLE_TEST_SMTP_PORT=$SMTP_PORT
	export FIABLE_TEST_MAIL_OUTBOX=$BUILD/cron/fiable-mail-outbox
	export FIABLE_TEST_CHECK_ALERTS=$BUILD/cron/fiable-check-alerts FIABLE_TEST_SPOOL_DIR=$SPOOL_DIR
	export FIABLE_TEST_ALERT_RULES=$ROOT/cron/alert-rules.json FIABLE_TEST_ALERT_EMAIL=$ALERT_EMAIL_TO
	export FIABLE_VAR=$VAR PORT PGPORT FIABLE_BUILD=$BUILD
	node_deps
	export FIABLE_TEST_NODE_MODULES=$ROOT/tests/node/node_modules
	# Le serveur S3 de test a besoin des outils Node : démarré après npm ci.
	s3_start
	export FIABLE_TEST_S3_ENDPOINT=http://127.0.0.1:$S3_PORT FIABLE_TEST_S3_BUCKET=$S3_TEST_BUCKET
	export FIABLE_TEST_S3_ACCESS_KEY_ID=$S3_TEST_KEY_ID FIABLE_TEST_S3_SECRET_ACCESS_KEY=$S3_TEST_SECRET
	export FIABLE_TEST_S3_REGION=$S3_TEST_REGION FIABLE_TEST_S3_DIR=$S3_DIR
	export FIABLE_TEST_BACKUP_BIN=$BUILD/cron
	export FIABLE_TEST_CHROMIUM=${FIABLE_TEST_CHROMIUM:-/usr/bin/chromium}

	# Les bancs d'essai (label bench) mesurent et impriment : « scripts/dev bench » les lance,
	# « scripts/dev test » les laisse de côté.
	local rc=0 select=(-LE bench)
	[[ $MODE == bench ]] && select=(-L bench -V)
	log "ctest"
	ctest --test-dir "$BUILD" --output-on-failure --no-tests=error \
		--timeout "$((${FIABLE_TEST_TIMEOUT:-300} * ${TIMEOUT_FACTOR:-1}))" "${select[@]}" "$@" </dev/null || rc=$?
	# Une clé d'idempotence redonne le jeton de modification : aucune de celles que les tests
	# ont envoyées ne doit être en clair dans la base (tout le cluster), les journaux, les
	# sauvegardes ou ailleurs dans l'environnement (la base doit encore tourner).
	if [[ $MODE == test ]]; then
		log "recherche des clés d'idempotence en clair"
		python3 "$ROOT/tests/integration/clear_keys.py" --var "$VAR" \
			--pg "$SUPER_CONNINFO" --skip "$PG_DATA" || rc=1
	fi

	# Arrêter avant d'examiner les journaux : un programme qui sort proprement sur SIGTERM
	# fait alors son rapport de fuites (LeakSanitizer).
	stop_all
	scan_sanitizer_logs || rc=1
	((rc == 0)) || exit "$rc"
	log "tests réussis"
}
