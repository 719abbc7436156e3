# scripts/dev.d/ha.sh — la variante haute disponibilité : etcd, deux PostgreSQL sous Patroni
# Sourcé par scripts/dev (fonctions seulement : rien ne s'exécute au chargement).
#
# « up --ha » et la pile de test « ha » remplacent le cluster privé par : un etcd à un membre
# (boucle locale), deux PostgreSQL 15 gérés par Patroni (nœuds 1 et 2, ports TCP de la boucle
# locale) en réplication synchrone (synchronous_mode: true : un COMMIT, donc un 201, ne revient
# qu'une fois le WAL sur le disque de l'autre nœud). Les programmes se connectent avec une
# conninfo libpq à plusieurs hôtes (target_session_attrs=read-write) : ils trouvent le primaire
# seuls, avant et après une bascule. Tout tourne sous l'utilisateur postgres (en root), tout
# est dans VAR/ha/ ; l'authentification est « trust » sur la boucle locale (développement et
# tests seulement : en production, scram-sha-256, voir docs/DEPLOIEMENT.md).

HA=0 # 1 : cette pile est la variante HA (ha_settings)
HA_NODES=(1 2)

# ha_settings PRÉFIXE : ports de la variante, lus dans l'environnement (PRÉFIXE vide pour
# « up --ha », TEST_ pour les tests), avec les valeurs par défaut de PRÉFIXE.
ha_settings() {
	local pre=$1 v k
	HA=1
	EXTRA_PACKAGES+=("${HA_PACKAGES[@]}")
	# « up --ha » rejoué : les ports d'un « up --ha » précédent sur ce VAR, sauf s'ils sont donnés.
	if [[ -z $pre && -r $VAR/ha.env ]]; then
		while IFS='=' read -r k v; do
			[[ $k =~ ^HA_[A-Z0-9_]+$ && $v =~ ^[0-9a-z]+$ && -z ${!k:-} ]] || continue
			printf -v "$k" '%s' "$v"
		done <"$VAR/ha.env"
	fi
	if [[ -z $pre ]]; then
		HA_ETCD_PORT=${HA_ETCD_PORT:-2379} HA_ETCD_PEER_PORT=${HA_ETCD_PEER_PORT:-2380}
		HA_PGPORT1=${HA_PGPORT1:-5441} HA_PGPORT2=${HA_PGPORT2:-5442}
		HA_REST_PORT1=${HA_REST_PORT1:-8008} HA_REST_PORT2=${HA_REST_PORT2:-8009}
	else
		HA_ETCD_PORT=${TEST_HA_ETCD_PORT:-12379} HA_ETCD_PEER_PORT=${TEST_HA_ETCD_PEER_PORT:-12380}
		HA_PGPORT1=${TEST_HA_PGPORT1:-5443} HA_PGPORT2=${TEST_HA_PGPORT2:-5444}
		HA_REST_PORT1=${TEST_HA_REST_PORT1:-18008} HA_REST_PORT2=${TEST_HA_REST_PORT2:-18009}
	fi
	# Le mode strict (synchronous_mode_strict) : refuser d'écrire sans standby synchrone.
	HA_STRICT=${FIABLE_HA_STRICT:-${HA_STRICT:-false}}
	[[ $HA_STRICT == true || $HA_STRICT == false ]] ||
		die "FIABLE_HA_STRICT vaut true ou false (reçu : $HA_STRICT)"
	for v in "$HA_ETCD_PORT" "$HA_ETCD_PEER_PORT" "$HA_PGPORT1" "$HA_PGPORT2" "$HA_REST_PORT1" \
		"$HA_REST_PORT2"; do
		[[ $v =~ ^[0-9]{1,5}$ ]] && ((10#$v > 0 && 10#$v <= 65535)) ||
			die "numéro de port invalide pour la variante HA : $v"
	done
	PGPORT=$HA_PGPORT1 # nomme les sockets et figure dans dev.env
	# GET /api/health surveille le standby synchrone (transmis aux programmes par fcgi_env).
	export FIABLE_SYNC_STANDBYS=${FIABLE_SYNC_STANDBYS:-1}
}

# Après derive_paths : chemins et conninfos de la variante.
ha_derive_paths() {
	((HA)) || return 0
	HA_DIR=$VAR/ha
	HA_ETCD_DATA=$HA_DIR/etcd
	HA_ETCD_PID=$RUN_DIR/etcd.pid
	HA_ETCD_LOG=$LOG_DIR/etcd.log
	HA_ETCD_URL=http://127.0.0.1:$HA_ETCD_PORT
	local hosts=127.0.0.1,127.0.0.1 ports=$HA_PGPORT1,$HA_PGPORT2
	# Une conninfo à deux hôtes : libpq essaie l'un puis l'autre et garde celui qui accepte
	# les écritures (le primaire), à chaque (re)connexion.
	MAINT_CONNINFO="host=$hosts port=$ports dbname=postgres user=postgres target_session_attrs=read-write"
	SUPER_CONNINFO="host=$hosts port=$ports dbname=fiable user=postgres target_session_attrs=read-write"
	APP_CONNINFO="host=$hosts port=$ports dbname=fiable user=fiable_app application_name=fiable target_session_attrs=read-write"
	PG_DATA=$HA_DIR/pg1 # le nœud 1 (status, check_running_pgport)
}

ha_node_var() { # ha_node_var NŒUD NOM : la valeur de NOM pour ce nœud
	case $2 in
	pgport) local v=HA_PGPORT$1 ;;
	rest) local v=HA_REST_PORT$1 ;;
	esac
	printf '%s\n' "${!v}"
}
ha_node_data() { printf '%s\n' "$HA_DIR/pg$1"; }
ha_node_conf() { printf '%s\n' "$HA_DIR/patroni$1.yml"; }
ha_node_pid() { printf '%s\n' "$RUN_DIR/patroni$1.pid"; }
ha_node_log() { printf '%s\n' "$LOG_DIR/patroni$1.log"; }

# Valeurs enregistrées (commandes d'aide) : VAR/ha.env existe pour une pile HA.
ha_record() {
	printf 'HA_ETCD_PORT=%s\nHA_ETCD_PEER_PORT=%s\nHA_PGPORT1=%s\nHA_PGPORT2=%s\nHA_REST_PORT1=%s\nHA_REST_PORT2=%s\nHA_STRICT=%s\n' \
		"$HA_ETCD_PORT" "$HA_ETCD_PEER_PORT" "$HA_PGPORT1" "$HA_PGPORT2" "$HA_REST_PORT1" \
		"$HA_REST_PORT2" "$HA_STRICT" >"$VAR/ha.env"
}
ha_read_recorded() {
	local k v
	[[ -r $VAR/ha.env ]] || return 0
	while IFS='=' read -r k v; do
		[[ $v =~ ^[0-9a-z]+$ ]] || continue
		case $k in
		HA_ETCD_PORT | HA_ETCD_PEER_PORT | HA_PGPORT1 | HA_PGPORT2 | HA_REST_PORT1 | \
			HA_REST_PORT2 | HA_STRICT) printf -v "$k" '%s' "$v" ;;
		esac
	done <"$VAR/ha.env"
	HA=1
	PGPORT=$HA_PGPORT1
	export FIABLE_SYNC_STANDBYS=${FIABLE_SYNC_STANDBYS:-1}
	ha_derive_paths
}

# --- etcd -------------------------------------------------------------------------------------

ha_etcd_healthy() { [[ $(curl -fsS --max-time 2 "$HA_ETCD_URL/health" 2>/dev/null) == *'"health":"true"'* ]]; }

ha_etcd_start() {
	local pid deadline
	if pid=$(live_pid "$HA_ETCD_PID" etcd); then
		log "etcd déjà en marche (pid $pid, $HA_ETCD_URL)"
		return 0
	fi
	! ha_etcd_healthy || die "un etcd répond déjà sur $HA_ETCD_URL : choisissez un autre port"
	mkdir_as "$HA_ETCD_DATA" 0700 "$PG_USER:$PG_USER"
	file_as "$HA_ETCD_LOG" 0640 "$PG_USER:$PG_USER"
	log "démarrage d'etcd ($HA_ETCD_URL, pair 127.0.0.1:$HA_ETCD_PEER_PORT)"
	local peer=http://127.0.0.1:$HA_ETCD_PEER_PORT
	(cd / && exec setsid runuser -u "$PG_USER" -- etcd --name fiable --data-dir "$HA_ETCD_DATA" \
		--listen-client-urls "$HA_ETCD_URL" --advertise-client-urls "$HA_ETCD_URL" \
		--listen-peer-urls "$peer" --initial-advertise-peer-urls "$peer" \
		--initial-cluster "fiable=$peer" </dev/null >>"$HA_ETCD_LOG" 2>&1) &
	deadline=$((SECONDS + $(limit "$START_TIMEOUT")))
	until ha_etcd_healthy; do
		if ((SECONDS >= deadline)); then
			tail -n 20 "$HA_ETCD_LOG" >&2 || true
			die "etcd n'a pas démarré"
		fi
		sleep 0.2
	done
	# runuser reste le parent : le pid écrit est celui d'etcd lui-même.
	ha_pid_of_listener etcd "$HA_ETCD_DATA" >"$HA_ETCD_PID"
}

# ha_pid_of_listener NOM MOT : le pid du processus NOM dont la ligne de commande contient MOT.
ha_pid_of_listener() {
	local f pid comm
	for f in /proc/[0-9]*/comm; do
		read -r comm 2>/dev/null <"$f" || continue
		[[ $comm == "$1" ]] || continue
		pid=${f#/proc/}
		pid=${pid%/comm}
		tr '\0' ' ' 2>/dev/null <"/proc/$pid/cmdline" | grep -qF -- "$2" || continue
		printf '%s\n' "$pid"
		return 0
	done
	return 1
}

ha_etcd_stop() {
	local pid
	if pid=$(live_pid "$HA_ETCD_PID" etcd); then
		log "arrêt d'etcd (pid $pid)"
		stop_pids TERM 10 "$pid"
	fi
	rm -f "$HA_ETCD_PID"
}

# --- Patroni ----------------------------------------------------------------------------------

ha_write_conf() {
	local n=$1 pgport rest data
	pgport=$(ha_node_var "$n" pgport)
	rest=$(ha_node_var "$n" rest)
	data=$(ha_node_data "$n")
	# ttl 10 s, boucle 1 s : une bascule en quelques secondes. primary_start_timeout 0 : un
	# postmaster mort fait basculer sur le standby synchrone au lieu de redémarrer sur place.
	# use_pg_rewind (wal_log_hints) : l'ancien primaire revient en standby, rembobiné.
	cat >"$(ha_node_conf "$n")" <<EOF
# Écrit par scripts/dev (variante HA) : nœud $n.
scope: fiable
name: pg$n
log:
  level: INFO
restapi:
  listen: 127.0.0.1:$rest
  connect_address: 127.0.0.1:$rest
etcd3:
  hosts: 127.0.0.1:$HA_ETCD_PORT
bootstrap:
  dcs:
    ttl: 10
    loop_wait: 1
    retry_timeout: 4
    maximum_lag_on_failover: 1048576
    primary_start_timeout: 0
    synchronous_mode: true
    synchronous_mode_strict: $HA_STRICT
    postgresql:
      use_pg_rewind: true
      use_slots: true
      parameters:
        wal_log_hints: 'on'
        wal_keep_size: 256MB
        max_wal_senders: 10
        max_replication_slots: 10
        hot_standby: 'on'
  initdb:
    - encoding: UTF8
    - locale: C.UTF-8
    - data-checksums
  pg_hba:
    - local all all trust
    - host all all 127.0.0.1/32 trust
    - local replication all trust
    - host replication all 127.0.0.1/32 trust
postgresql:
  listen: 127.0.0.1:$pgport
  connect_address: 127.0.0.1:$pgport
  data_dir: $data
  bin_dir: $PG_BIN
  pgpass: $HA_DIR/pgpass$n
  authentication:
    superuser:
      username: postgres
    replication:
      username: postgres
    rewind:
      username: postgres
  parameters:
    unix_socket_directories: '$PG_SOCK_DIR'
    timezone: UTC
    log_destination: stderr
    logging_collector: 'off'
EOF
	if ((IS_ROOT)); then chown "$PG_USER:$PG_USER" "$(ha_node_conf "$n")"; fi
}

ha_node_start() {
	local n=$1 pid log
	if pid=$(live_pid "$(ha_node_pid "$n")" patroni); then
		log "Patroni du nœud $n déjà en marche (pid $pid)"
		return 0
	fi
	log=$(ha_node_log "$n")
	file_as "$log" 0640 "$PG_USER:$PG_USER"
	ha_write_conf "$n"
	log "démarrage de Patroni, nœud $n (PostgreSQL 127.0.0.1:$(ha_node_var "$n" pgport), API 127.0.0.1:$(ha_node_var "$n" rest))"
	(cd / && exec setsid runuser -u "$PG_USER" -- patroni "$(ha_node_conf "$n")" </dev/null >>"$log" 2>&1) &
	local deadline=$((SECONDS + $(limit 10)))
	until pid=$(ha_pid_of_listener patroni "$(ha_node_conf "$n")"); do
		((SECONDS < deadline)) || die "Patroni (nœud $n) n'a pas démarré : voir $log"
		sleep 0.1
	done
	printf '%s\n' "$pid" >"$(ha_node_pid "$n")"
}

# Le postmaster du nœud (premier nombre de postmaster.pid) s'il est vivant.
ha_postmaster_pid() {
	local f pid
	f=$(ha_node_data "$1")/postmaster.pid
	[[ -r $f ]] || return 1
	pid=$(sed -n 1p "$f")
	[[ $pid =~ ^[0-9]+$ ]] && proc_alive "$pid" || return 1
	printf '%s\n' "$pid"
}

ha_node_stop() {
	local n=$1 pid pm
	if pid=$(live_pid "$(ha_node_pid "$n")" patroni); then
		log "arrêt de Patroni, nœud $n (pid $pid ; il arrête son PostgreSQL)"
		stop_pids TERM "$(limit 60)" "$pid"
	fi
	rm -f "$(ha_node_pid "$n")"
	# Un postmaster resté seul (Patroni tué) : arrêté aussi.
	if pm=$(ha_postmaster_pid "$n"); then
		as_pg "$PG_BIN/pg_ctl" stop -D "$(ha_node_data "$n")" -m immediate -w -t 30 >/dev/null 2>&1 ||
			stop_pids KILL 5 "$pm"
	fi
}

# L'état du cluster vu par l'API REST de Patroni (GET /cluster sur le premier nœud qui répond).
ha_cluster_json() {
	local n
	for n in "${HA_NODES[@]}"; do
		curl -fsS --max-time 2 "http://127.0.0.1:$(ha_node_var "$n" rest)/cluster" 2>/dev/null && return 0
	done
	return 1
}

# ha_wait_ready : un leader qui tourne et un standby synchrone en flux (streaming), dans le
# plafond donné ; affiche l'état final.
ha_wait_ready() {
	local deadline=$((SECONDS + $(limit "${1:-120}"))) out=''
	while ((SECONDS < deadline)); do
		if out=$(ha_cluster_json) &&
			jq -e '([.members[] | select(.role == "leader" and .state == "running")] | length == 1) and
				([.members[] | select(.role == "sync_standby" and (.state == "streaming" or .state == "running"))] | length == 1)' \
				>/dev/null <<<"$out"; then
			log "cluster HA : $(jq -r '[.members[] | "\(.name) \(.role) \(.state)"] | join(", ")' <<<"$out")"
			return 0
		fi
		sleep 0.3
	done
	printf 'état : %s\n' "${out:-aucune API Patroni ne répond}" >&2
	return 1
}

ha_start() {
	local n
	mkdir_as "$HA_DIR" 0755 "$PG_USER:$PG_USER"
	ha_record
	ha_etcd_start
	for n in "${HA_NODES[@]}"; do ha_node_start "$n"; done
	if ! ha_wait_ready 180; then
		for n in "${HA_NODES[@]}"; do tail -n 30 "$(ha_node_log "$n")" >&2 || true; done
		die "le cluster HA n'a ni leader ni standby synchrone après $(limit 180) s"
	fi
}

ha_stop() {
	local i
	# Le standby d'abord : le primaire s'arrête sans attendre de bascule.
	for ((i = ${#HA_NODES[@]} - 1; i >= 0; i--)); do ha_node_stop "${HA_NODES[i]}"; done
	ha_etcd_stop
}

# scripts/dev ha-status : les membres du cluster (patronictl list).
cmd_ha_status() {
	settings_helper
	((HA)) || die "$VAR n'est pas une pile HA (scripts/dev up --ha)"
	as_pg patronictl -c "$(ha_node_conf 1)" list
}

# scripts/dev ha-node-start|ha-node-stop N : (re)démarre ou arrête Patroni (et son PostgreSQL)
# sur le nœud N ; ha-wait attend un leader et un standby synchrone.
cmd_ha_node() {
	local what=$1 n=${2:-}
	settings_helper
	((HA)) || die "$VAR n'est pas une pile HA (scripts/dev up --ha)"
	[[ $what == wait ]] || [[ $n == 1 || $n == 2 ]] || die "nœud 1 ou 2 attendu (reçu : ${n:-rien})"
	case $what in
	start) ha_node_start "$n" ;;
	stop) ha_node_stop "$n" ;;
	wait) ha_wait_ready "${n:-120}" || die "pas de leader avec un standby synchrone" ;;
	esac
}

# --- La pile de test HA (fixture ha.stack.up / ha.stack.down de tests/ha) ---------------------

cmd_ha_stack_up() {
	settings_test_ha
	trap stack_up_exit EXIT
	fresh_test_var
	find_tools
	start_stack creneaux-demo.sql
	write_test_env
	printf '%s\n' \
		"FIABLE_TEST_HA_ETCD_URL=$HA_ETCD_URL" \
		"FIABLE_TEST_HA_REST=http://127.0.0.1:$HA_REST_PORT1,http://127.0.0.1:$HA_REST_PORT2" \
		"FIABLE_TEST_HA_DATA=$(ha_node_data 1),$(ha_node_data 2)" \
		"FIABLE_TEST_HA_PATRONI_CONF=$(ha_node_conf 1)" \
		"FIABLE_TEST_HA_PGPORTS=$HA_PGPORT1,$HA_PGPORT2" \
		"FIABLE_TEST_VERIFY_AUDIT=$BUILD/cron/fiable-verify-audit" >>"$TEST_ENV_FILE"
	log "pile de test HA prête : $BASE_URL (décrite dans $TEST_ENV_FILE)"
}

cmd_ha_stack_down() {
	settings_test_ha
	rm -f -- "$TEST_ENV_FILE"
	ha_read_recorded
	[[ ! -e $VAR/.fiable-var ]] || stop_all
	scan_sanitizer_logs
}

# Les ports de la pile de test HA, inscrits dans la compilation comme ceux de la pile de test.
ha_test_cmake_opts() {
	(
		ha_settings TEST_
		printf '%s\n' "-DFIABLE_TEST_HA_PORT=${TEST_HA_PORT:-18081}" \
			"-DFIABLE_TEST_HA_ETCD_PORT=$HA_ETCD_PORT" "-DFIABLE_TEST_HA_ETCD_PEER_PORT=$HA_ETCD_PEER_PORT" \
			"-DFIABLE_TEST_HA_PGPORT1=$HA_PGPORT1" "-DFIABLE_TEST_HA_PGPORT2=$HA_PGPORT2" \
			"-DFIABLE_TEST_HA_REST_PORT1=$HA_REST_PORT1" "-DFIABLE_TEST_HA_REST_PORT2=$HA_REST_PORT2"
	)
}

# Après un « test » interrompu : la pile de test HA arrêtée si elle tourne encore.
ha_test_stop() {
	(
		settings_test_ha
		ha_read_recorded
		[[ ! -e $VAR/.fiable-var ]] || stop_all
	)
}
