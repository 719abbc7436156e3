# scripts/dev.d/postgresql.sh — le cluster PostgreSQL privé
# Sourcé par scripts/dev (fonctions seulement : rien ne s'exécute au chargement).

# --- PostgreSQL ------------------------------------------------------------------------------

# Les outils PostgreSQL refusent de tourner en root : en root, ils passent par l'utilisateur
# postgres (depuis /, car il ne peut peut-être pas entrer dans le dossier courant).
as_pg() {
	if ((IS_ROOT)); then
		(cd / && runuser -u "$PG_USER" -- "$@")
	else
		"$@"
	fi
}

# Options du serveur : aucune écoute TCP ; PGPORT ne sert qu'à nommer la socket.
pg_opts() { printf "%s" "-p $PGPORT -k '$PG_SOCK_DIR' -c listen_addresses=''"; }

pg_running() { as_pg "$PG_BIN/pg_ctl" status -D "$PG_DATA" >/dev/null 2>&1; }

pg_fail() {
	echo "----- $PG_LOG (fin)" >&2
	tail -n 30 "$PG_LOG" >&2 || true
	die "$1"
}

pg_init() {
	if [[ -f $PG_DATA/PG_VERSION ]]; then return 0; fi
	[[ -z $(ls -A "$PG_DATA") ]] || die "$PG_DATA n'est pas vide mais ne contient pas de cluster PostgreSQL"
	log "création du cluster PostgreSQL dans $PG_DATA"
	as_pg "$PG_BIN/initdb" -D "$PG_DATA" --username=postgres --auth=trust \
		--encoding=UTF8 --locale=C.UTF-8 >"$LOG_DIR/initdb.log" 2>&1 || {
		cat "$LOG_DIR/initdb.log" >&2
		die "initdb a échoué"
	}
}

pg_start() {
	if pg_running; then
		# Déjà en marche : il doit écouter sur la socket attendue.
		local port
		port=$(sed -n 4p "$PG_DATA/postmaster.pid" 2>/dev/null || true)
		[[ $port == "$PGPORT" ]] ||
			die "PostgreSQL tourne déjà dans $PG_DATA avec PGPORT=$port (demandé : $PGPORT) ; lancez « scripts/dev down » d'abord"
		log "PostgreSQL déjà en marche (socket $PG_SOCK_DIR, port $PGPORT)"
		return 0
	fi
	mkdir_as "$PG_SOCK_DIR" 0755 "$PG_USER:$PG_USER"
	log "démarrage de PostgreSQL (socket $PG_SOCK_DIR, port $PGPORT)"
	as_pg "$PG_BIN/pg_ctl" start -D "$PG_DATA" -l "$PG_LOG" -w -t 60 -o "$(pg_opts)" >/dev/null ||
		pg_fail "PostgreSQL n'a pas démarré"
}

pg_stop() {
	local mode=${1:-fast}
	if ! pg_running; then return 0; fi
	log "arrêt de PostgreSQL (mode $mode)"
	as_pg "$PG_BIN/pg_ctl" stop -D "$PG_DATA" -m "$mode" -w -t 60 >/dev/null ||
		pg_fail "PostgreSQL ne s'est pas arrêté"
}

pg_restart() {
	local mode=${1:-fast}
	log "redémarrage de PostgreSQL (mode $mode)"
	as_pg "$PG_BIN/pg_ctl" restart -D "$PG_DATA" -m "$mode" -l "$PG_LOG" -w -t 60 -o "$(pg_opts)" >/dev/null ||
		pg_fail "PostgreSQL n'a pas redémarré"
}

check_mode() {
	case $1 in smart | fast | immediate) ;; *) die "mode d'arrêt inconnu : $1 (fast ou immediate)" ;; esac
}

psql_super() { psql -X -q -v ON_ERROR_STOP=1 -d "$SUPER_CONNINFO" "$@"; }

pg_create_db() {
	local maint=$MAINT_CONNINFO
	if [[ $(psql -X -tA -d "$maint" -c "SELECT 1 FROM pg_database WHERE datname = 'fiable'") != 1 ]]; then
		log "création de la base fiable"
		psql -X -q -v ON_ERROR_STOP=1 -d "$maint" -c "CREATE DATABASE fiable"
	fi
}


# Un PostgreSQL de ce FIABLE_VAR qui tourne avec un autre PGPORT : on le dit avant de compiler.
check_running_pgport() {
	local pid port
	((!HA)) || return 0 # Patroni choisit lui-même ses options
	[[ -r $PG_DATA/postmaster.pid ]] || return 0
	pid=$(sed -n 1p "$PG_DATA/postmaster.pid")
	port=$(sed -n 4p "$PG_DATA/postmaster.pid")
	[[ $pid =~ ^[0-9]+$ ]] && proc_alive "$pid" || return 0
	[[ $port == "$PGPORT" ]] ||
		die "PostgreSQL tourne déjà dans $PG_DATA avec PGPORT=$port (demandé : $PGPORT) ; lancez « scripts/dev down » d'abord"
}

# --- Archivage continu des WAL (pgBackRest) ----------------------------------------------------

PGBR_STANZA=fiable

# pgbr ARGS... : pgBackRest sur le stanza de cet environnement, en utilisateur postgres.
pgbr() { as_pg pgbackrest --config-path="$PGBR_DIR" --stanza="$PGBR_STANZA" "$@"; }

# Avant pg_start (archive_mode ne change qu'au démarrage) ; rejouable. pgbackrest.conf est tiré
# de deploy/pgbackrest.conf.in (le modèle de la production), dépôt dans FIABLE_VAR ; le cluster
# lit ses réglages d'archivage dans fiable-archive.conf, inclus par postgresql.conf.
pgbr_configure() {
	local conf=$PG_DATA/fiable-archive.conf include="include_if_exists = 'fiable-archive.conf'"
	mkdir_as "$PGBR_DIR" 0755
	mkdir_as "$PGBR_DIR/conf.d" 0755 # pgBackRest y lit *.conf en plus (le dépôt S3 des tests)
	mkdir_as "$PGBR_REPO" 0750 "$PG_USER:$PG_USER"
	mkdir_as "$LOG_DIR/pgbackrest" 0750 "$PG_USER:$PG_USER"
	mkdir_as "$RUN_DIR/pgbackrest" 0750 "$PG_USER:$PG_USER"
	sed -e "s|@REPO_PATH@|$PGBR_REPO|" -e "s|@LOG_PATH@|$LOG_DIR/pgbackrest|" \
		-e "s|@LOCK_PATH@|$RUN_DIR/pgbackrest|" -e "s|@PG_DATA@|$PG_DATA|" \
		-e "s|@PG_SOCKET_DIR@|$PG_SOCK_DIR|" -e "s|@PG_PORT@|$PGPORT|" \
		"$ROOT/deploy/pgbackrest.conf.in" >"$PGBR_DIR/pgbackrest.conf"
	! grep -v '^#' "$PGBR_DIR/pgbackrest.conf" | grep -q '@[A-Z_]*@' ||
		die "deploy/pgbackrest.conf.in : un @NOM@ n'est pas remplacé par scripts/dev.d/postgresql.sh"
	# Un WAL archivé au plus tard 60 s après son écriture (perte d'au plus une minute si le
	# site entier disparaît).
	printf "%s\n" "# Écrit par scripts/dev (pgbr_configure) : archivage continu par pgBackRest." \
		"archive_mode = on" \
		"archive_command = 'pgbackrest --config-path=$PGBR_DIR --stanza=$PGBR_STANZA archive-push %p'" \
		"archive_timeout = 60" >"$conf"
	file_as "$conf" 0600 "$PG_USER:$PG_USER"
	grep -qxF "$include" "$PG_DATA/postgresql.conf" || printf '%s\n' "$include" >>"$PG_DATA/postgresql.conf"
}

# Après pg_start : le stanza (créé s'il manque, vérifié sinon).
pgbr_stanza() {
	local maint="host=$PG_SOCK_DIR port=$PGPORT dbname=postgres user=postgres"
	log "pgBackRest : stanza $PGBR_STANZA (dépôt $PGBR_REPO)"
	pgbr stanza-create || die "pgbackrest stanza-create a échoué (journaux : $LOG_DIR/pgbackrest)"
	[[ $(psql -X -tA -d "$maint" -c "SHOW archive_mode") == on ]] ||
		warn "PostgreSQL tourne sans archive_mode (démarré avant sa configuration) : scripts/dev db-restart"
}
