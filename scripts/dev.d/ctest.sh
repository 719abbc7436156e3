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

# La pile de test est démarrée et arrêtée par ctest lui-même (fixture de tests/CMakeLists.txt :
# stack.up, stack.clear_keys, stack.down, qui appellent les commandes stack-* ci-dessous) :
# « scripts/dev test » compile puis lance ctest, et « cd build-test && ctest -R submit » marche
# seul. Les tests trouvent la pile dans TEST_ENV_FILE (build-test/fiable-test.env).

# Après un échec (ou une interruption) de « test » : ce que la fixture n'aurait pas arrêté est
# arrêté (ctest interrompu ne lance pas stack.down), les journaux sont montrés.
test_exit() {
	local rc=$?
	trap - EXIT
	set +e
	[[ ! -e $VAR/.fiable-var ]] || stop_all >/dev/null 2>&1
	ha_test_stop >/dev/null 2>&1 # la pile de test HA aussi (ha.stack.down non lancé)
	if ((rc != 0)); then
		[[ ! -d $LOG_DIR ]] || print_log_tails >&2
		echo "ÉCHEC de scripts/dev ${MODE:-test} (code $rc) ; journaux dans $LOG_DIR" >&2
	fi
	exit "$rc"
}

# scripts/dev test|bench [ARGS_CTEST...] : paquets, compilation (préréglage test ou bench),
# puis ctest, qui démarre la pile si les tests choisis en ont besoin.
cmd_test() {
	settings_test
	trap test_exit EXIT
	trap 'exit 130' INT
	trap 'exit 143' TERM
	ensure_packages
	build
	# Les bancs d'essai (label bench) ne sont enregistrés que dans la compilation bench.
	local rc=0 select=()
	[[ $MODE == bench ]] && select=(-L bench -V)
	log "ctest (pile de test : $VAR, http://127.0.0.1:$PORT)"
	ctest --test-dir "$BUILD" --output-on-failure --no-tests=error \
		--timeout "$((${FIABLE_TEST_TIMEOUT:-300} * ${TIMEOUT_FACTOR:-1}))" "${select[@]}" "$@" </dev/null || rc=$?
	((rc == 0)) || exit "$rc"
	log "tests réussis"
}

# stack-up (fixture stack.up) : une pile neuve pour la compilation FIABLE_TEST_BUILD, décrite
# dans TEST_ENV_FILE. Rien n'est installé ni compilé ici : ctest teste ce qui est compilé.
cmd_stack_up() {
	settings_test
	trap stack_up_exit EXIT
	fresh_test_var
	find_tools
	start_stack creneaux-demo.sql
	node_deps
	# Le serveur S3 de test a besoin des outils Node : démarré après npm ci.
	s3_start
	write_test_env
	log "pile de test prête : $BASE_URL (décrite dans $TEST_ENV_FILE)"
}

# Repartir de zéro : arrêter ce qui resterait d'une exécution précédente, puis effacer.
fresh_test_var() {
	rm -f -- "$TEST_ENV_FILE"
	if [[ -e $VAR ]]; then
		[[ -e $VAR/.fiable-var || -z $(ls -A "$VAR") ]] ||
			die "$VAR existe et ne vient pas de scripts/dev (pas de fichier .fiable-var) : refus de l'effacer"
		ha_read_recorded # une pile HA laissée là : etcd et Patroni aussi
		stop_all
		rm -rf -- "$VAR"
	fi
	[[ -x $BUILD/cgi-bin/fiable-submit ]] ||
		die "pas de programmes compilés dans $BUILD : lancez scripts/dev test (ou cmake --build $BUILD)"
}

stack_up_exit() {
	local rc=$?
	trap - EXIT
	if ((rc != 0)); then
		set +e
		print_log_tails >&2
		stop_all >/dev/null 2>&1
	fi
	exit "$rc"
}

# Ce que les tests savent de la pile : une ligne NOM=valeur par variable (valeur jusqu'à la fin
# de la ligne, sans guillemets). Lu par tests/integration/fiable_test/env.py,
# tests/lib/navigateur.mjs et tests/lib/env.sh quand FIABLE_TEST_BASE_URL manque à leur
# environnement ; remplacé d'un coup (mv).
write_test_env() {
	local tmp=$TEST_ENV_FILE.tmp
	{
		echo "# Pile de test démarrée par scripts/dev stack-up le $(date -u +%Y-%m-%dT%H:%M:%SZ) ; effacé par stack-down."
		printf '%s\n' \
			"FIABLE_TEST_BASE_URL=$BASE_URL" \
			"FIABLE_TEST_PG=$SUPER_CONNINFO" \
			"FIABLE_TEST_APP_PG=$APP_CONNINFO" \
			"FIABLE_TEST_DEV=$SELF" \
			"FIABLE_TEST_MAILBOX=$MAILBOX" \
			"FIABLE_TEST_SMTP_PORT=$SMTP_PORT" \
			"FIABLE_TEST_MAIL_OUTBOX=$BUILD/cron/fiable-mail-outbox" \
			"FIABLE_TEST_CHECK_ALERTS=$BUILD/cron/fiable-check-alerts" \
			"FIABLE_TEST_SPOOL_DIR=$SPOOL_DIR" \
			"FIABLE_TEST_ALERT_RULES=$ROOT/cron/alert-rules.json" \
			"FIABLE_TEST_ALERT_EMAIL=$ALERT_EMAIL_TO" \
			"FIABLE_TEST_NODE_MODULES=$ROOT/tests/node/node_modules" \
			"FIABLE_TEST_S3_ENDPOINT=http://127.0.0.1:$S3_PORT" \
			"FIABLE_TEST_S3_BUCKET=$S3_TEST_BUCKET" \
			"FIABLE_TEST_S3_ACCESS_KEY_ID=$S3_TEST_KEY_ID" \
			"FIABLE_TEST_S3_SECRET_ACCESS_KEY=$S3_TEST_SECRET" \
			"FIABLE_TEST_S3_REGION=$S3_TEST_REGION" \
			"FIABLE_TEST_S3_DIR=$S3_DIR" \
			"FIABLE_TEST_BACKUP_BIN=$BUILD/cron" \
			"FIABLE_TEST_CHROMIUM=${FIABLE_TEST_CHROMIUM:-/usr/bin/chromium}" \
			"FIABLE_VAR=$VAR" \
			"FIABLE_BUILD=$BUILD" \
			"PORT=$PORT" \
			"PGPORT=$PGPORT" \
			"ASAN_OPTIONS=$ASAN_OPTIONS" \
			"UBSAN_OPTIONS=$UBSAN_OPTIONS" \
			"FIABLE_TEST_PGBACKREST_CONFIG_PATH=$PGBR_DIR" \
			"FIABLE_TEST_PG_BIN=$PG_BIN"
	} >"$tmp"
	mv -f "$tmp" "$TEST_ENV_FILE"
}

# stack-clear-keys (fixture stack.clear_keys, après tous les tests qui envoient des clés) :
# une clé d'idempotence redonne le jeton de modification ; aucune de celles que les tests ont
# envoyées ne doit être en clair dans la base (tout le cluster), les journaux, les sauvegardes
# ou ailleurs dans l'environnement (la base doit encore tourner). Le dossier du cluster et le
# dépôt pgBackRest (sa copie physique, en WAL compressés) ne sont pas lus en fichiers : le
# cluster l'est par pg_dumpall.
cmd_stack_clear_keys() {
	settings_test
	log "recherche des clés d'idempotence en clair"
	exec python3 "$ROOT/tests/integration/clear_keys.py" --var "$VAR" \
		--pg "$SUPER_CONNINFO" --skip "$PG_DATA" --skip "$PGBR_REPO"
}

# stack-down (fixture stack.down) : tout arrêter, puis examiner les journaux (un programme
# qui sort proprement sur SIGTERM fait alors son rapport de fuites, LeakSanitizer).
cmd_stack_down() {
	settings_test
	rm -f -- "$TEST_ENV_FILE"
	[[ ! -e $VAR/.fiable-var ]] || stop_all
	scan_sanitizer_logs
}
