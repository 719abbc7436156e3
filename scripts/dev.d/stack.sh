# scripts/dev.d/stack.sh — la pile assemblée : dossiers, démarrage et arrêt de tout
# Sourcé par scripts/dev (fonctions seulement : rien ne s'exécute au chargement).

prepare_dirs() {
	mkdir_as "$VAR" 0755
	: >"$VAR/.fiable-var" # marque : « test » n'efface qu'un dossier portant cette marque
	mkdir_as "$LOG_DIR" 0775 "root:$APP_USER"
	mkdir_as "$RUN_DIR" 0755
	mkdir_as "$PG_SOCK_DIR" 0755 "$PG_USER:$PG_USER"
	mkdir_as "$NGINX_PREFIX" 0755
	mkdir_as "$NGINX_PREFIX/tmp" 0755
	((HA)) || [[ -d $PG_DATA ]] || mkdir_as "$PG_DATA" 0700 "$PG_USER:$PG_USER"
	file_as "$PG_LOG" 0640 "$PG_USER:$PG_USER"
	# Les programmes FastCGI (www-data en root) y écrivent les courriels.
	[[ -z $MAIL_DIR ]] || mkdir_as "$MAIL_DIR" 0750 "$APP_USER:$APP_USER"
	mkdir_as "$SPOOL_DIR" 0750 "$APP_USER:$APP_USER"
	# Les sauvegardes contiennent les réponses : lisibles du seul compte qui les lance.
	mkdir_as "$BACKUP_DIR" 0700
}

# Ports et dossier de compilation, relus par les commandes d'aide (status, db-*, ...).
record_settings() {
	printf 'PORT=%s\nPGPORT=%s\nBUILD=%s\nSMTP_PORT=%s\nS3_PORT=%s\n' "$PORT" "$PGPORT" "$BUILD" \
		"$SMTP_PORT" "$S3_PORT" >"$VAR/dev.env"
}
# En root, les services tournent sous d'autres utilisateurs : ils doivent pouvoir traverser
# les dossiers parents du dépôt et de FIABLE_VAR (ce n'est pas le cas sous /root, en 0700).
check_access() {
	((IS_ROOT)) || return 0
	local ok=1 name
	runuser -u "$PG_USER" -- test -x "$VAR" || {
		warn "l'utilisateur $PG_USER ne peut pas traverser $VAR"
		ok=0
	}
	runuser -u "$APP_USER" -- test -r "$ROOT/static/index.html" || {
		warn "l'utilisateur $APP_USER ne peut pas lire $ROOT/static/index.html"
		ok=0
	}
	for name in "${FCGI_PROGRAMS[@]}"; do
		name=${name%%:*}
		runuser -u "$APP_USER" -- test -x "$BUILD/cgi-bin/fiable-$name" || {
			warn "l'utilisateur $APP_USER ne peut pas exécuter $BUILD/cgi-bin/fiable-$name"
			ok=0
		}
	done
	((ok)) || die "droits insuffisants : placez le dépôt (et FIABLE_VAR/FIABLE_BUILD) sous un dossier lisible par tous (par ex. /srv ou /tmp), ou rendez les dossiers parents traversables (chmod o+x)"
}

# --- Assemblage ------------------------------------------------------------------------------

find_tools() {
	SPAWN_FCGI=$(command -v spawn-fcgi) || die "spawn-fcgi introuvable"
	MULTIWATCH=$(command -v multiwatch) || die "multiwatch introuvable"
	NGINX=$(command -v nginx || true)
	if [[ -z $NGINX && -x /usr/sbin/nginx ]]; then NGINX=/usr/sbin/nginx; fi # PATH sans sbin
	[[ -n $NGINX ]] || die "nginx introuvable"
	[[ -x $PG_BIN/pg_ctl ]] || die "PostgreSQL 15 introuvable ($PG_BIN)"
}

wait_health() {
	local deadline=$((SECONDS + $(limit "$HEALTH_TIMEOUT"))) out=''
	while ((SECONDS < deadline)); do
		if out=$(curl -fsS --max-time 2 "$BASE_URL/api/health" 2>&1); then
			log "santé : $out"
			return 0
		fi
		sleep 0.3
	done
	printf '%s\n' "$out" >&2
	return 1
}

print_log_tails() {
	local f
	for f in "$LOG_DIR"/*.log; do
		[[ -s $f ]] || continue
		echo "----- $f (50 dernières lignes)"
		tail -n 50 "$f"
	done
}

# Installe, compile et démarre tout, dans l'ordre ; rejouable : ce qui tourne déjà est laissé
# (ou rechargé).
do_up() {
	check_running_pgport
	ensure_packages
	find_tools
	build
	start_stack campagne-demo.sql
}

# Démarre la pile d'une compilation déjà faite (BUILD) : « up », et « stack-up » pour ctest.
# $1 : les données de démonstration (sql/demo/) : « up » crée une campagne de démonstration
# (campagne-demo.sql) ; la pile de test garde le catalogue de créneaux de la première campagne
# (creneaux-demo.sql), sur lequel comptent les tests.
start_stack() {
	local demo=$1
	prepare_dirs
	check_access
	if ((HA)); then ha_start; else
		pg_init
		pgbr_configure
		pg_start
		pgbr_stanza
	fi
	record_settings
	pg_create_db
	log "migrations"
	"$ROOT/scripts/migrate" "$SUPER_CONNINFO"
	log "données de démonstration : sql/demo/$demo"
	PGOPTIONS="-c client_min_messages=warning" psql_super -f "$ROOT/sql/demo/$demo"
	ensure_secrets
	# Avant les programmes : le premier courriel envoyé doit trouver son serveur.
	[[ -z $SMTP_PORT ]] || smtp_start
	fcgi_env
	local p
	for p in "${FCGI_PROGRAMS[@]}"; do fcgi_start "${p%%:*}" "${p##*:}"; done
	[[ -z $MAIL_SMTP_URL && -z $MAIL_DIR ]] || mailer_start
	sealer_start
	nginx_start
	if ! wait_health; then
		print_log_tails >&2
		die "$BASE_URL/api/health ne répond pas après $(limit "$HEALTH_TIMEOUT") s"
	fi
}

stop_all() {
	local p
	nginx_stop
	mailer_stop
	sealer_stop
	for p in "${FCGI_PROGRAMS[@]}"; do fcgi_stop "${p%%:*}"; done
	smtp_stop
	s3_stop
	if ((HA)); then ha_stop; else pg_stop fast; fi
}
