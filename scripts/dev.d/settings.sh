# scripts/dev.d/settings.sh — réglages des trois environnements (up, test, commandes d'aide)
# Sourcé par scripts/dev (fonctions seulement : rien ne s'exécute au chargement).

# --- Réglages -------------------------------------------------------------------------------

# Chemins dérivés de VAR, BUILD, PORT et PGPORT (déjà fixés).
derive_paths() {
	VAR=$(realpath -m -- "$VAR")
	BUILD=$(realpath -m -- "$BUILD")
	local p
	for p in "$PORT" "$PGPORT" ${SMTP_PORT:+"$SMTP_PORT"} ${S3_PORT:+"$S3_PORT"}; do
		if ! [[ $p =~ ^[0-9]{1,5}$ ]] || ((10#$p == 0 || 10#$p > 65535)); then
			die "numéro de port invalide : $p (PORT=$PORT, PGPORT=$PGPORT${SMTP_PORT:+, SMTP_PORT=$SMTP_PORT}${S3_PORT:+, S3_PORT=$S3_PORT})"
		fi
	done
	# Ces chemins finissent dans nginx.conf, une conninfo libpq et une commande pg_ctl :
	# pas d'espaces ni de caractères spéciaux.
	for p in "$ROOT" "$VAR" "$BUILD"; do
		[[ $p =~ ^[A-Za-z0-9._/+@:,-]+$ ]] ||
			die "chemin non pris en charge (espaces ou caractères spéciaux) : $p"
	done
	LOG_DIR=$VAR/log
	RUN_DIR=$VAR/run
	PG_DATA=$VAR/pg
	PG_SOCK_DIR=$RUN_DIR/pg
	PG_LOG=$LOG_DIR/postgresql.log
	NGINX_PREFIX=$VAR/nginx
	NGINX_CONF=$NGINX_PREFIX/nginx.conf
	NGINX_PID=$NGINX_PREFIX/nginx.pid
	SMTP_PID=$RUN_DIR/smtp.pid
	MAILER_PID=$RUN_DIR/mailer.pid
	SEALER_PID=$RUN_DIR/sealer.pid
	SMTP_LOG=$LOG_DIR/smtp.log
	MAILBOX=$VAR/mailbox
	S3_PID=$RUN_DIR/s3.pid
	S3_LOG=$LOG_DIR/s3.log
	S3_DIR=$VAR/s3 # objets du serveur S3 de test
	BACKUP_DIR=$VAR/backups # destination des sauvegardes par défaut (« up »)
	SPOOL_DIR=$VAR/spool # file durable des métriques pendant une panne de la base
	MAINT_CONNINFO="host=$PG_SOCK_DIR port=$PGPORT dbname=postgres user=postgres"
	SUPER_CONNINFO="host=$PG_SOCK_DIR port=$PGPORT dbname=fiable user=postgres"
	APP_CONNINFO="host=$PG_SOCK_DIR port=$PGPORT dbname=fiable user=fiable_app application_name=fiable"
	ha_derive_paths # variante HA : conninfos à deux hôtes (scripts/dev.d/ha.sh)
	BASE_URL=http://127.0.0.1:$PORT
	# Archivage continu (pgBackRest) : sa configuration (pgbackrest.conf et conf.d/), son dépôt.
	PGBR_DIR=$VAR/pgbackrest
	PGBR_REPO=$PGBR_DIR/repo
	# Une socket unix a un chemin d'au plus 107 octets.
	for p in "$PG_SOCK_DIR/.s.PGSQL.$PGPORT" "$RUN_DIR/fiable-submit.sock"; do
		((${#p} <= 107)) || die "chemin de socket trop long (${#p} > 107 octets) : $p — choisissez un FIABLE_VAR plus court"
	done
}

# Valeurs enregistrées par un « up » précédent dans VAR/dev.env (REC_PORT, REC_PGPORT, REC_BUILD,
# REC_SMTP_PORT, REC_S3_PORT).
read_recorded() {
	local k v
	REC_PORT='' REC_PGPORT='' REC_BUILD='' REC_SMTP_PORT='' REC_S3_PORT=''
	[[ -r $1/dev.env ]] || return 0
	while IFS='=' read -r k v; do
		case $k in
		PORT) REC_PORT=$v ;;
		PGPORT) REC_PGPORT=$v ;;
		BUILD) REC_BUILD=$v ;;
		SMTP_PORT) REC_SMTP_PORT=$v ;;
		S3_PORT) REC_S3_PORT=$v ;;
		esac
	done <"$1/dev.env"
}

# « up » : environnement de développement. Sans PORT/PGPORT/FIABLE_BUILD explicites, les
# valeurs du « up » précédent sur ce FIABLE_VAR sont reprises, puis les valeurs par défaut.
settings_dev() {
	VAR=$(realpath -m -- "${FIABLE_VAR:-$ROOT/var}")
	read_recorded "$VAR"
	BUILD=${FIABLE_BUILD:-${REC_BUILD:-$ROOT/build}}
	PORT=${PORT:-${REC_PORT:-8080}}
	PGPORT=${PGPORT:-${REC_PGPORT:-5432}}
	if [[ ${1:-} == --ha ]]; then
		ha_settings '' # up --ha
	elif [[ -e $VAR/ha.env ]]; then
		die "$VAR contient une pile HA : « scripts/dev up --ha », ou « scripts/dev down » puis un autre FIABLE_VAR"
	fi
	PRESET=dev # RelWithDebInfo
	CMAKE_OPTS=()
	[[ -z ${FIABLE_BUILD_TYPE:-} ]] || CMAKE_OPTS=(-DCMAKE_BUILD_TYPE="$FIABLE_BUILD_TYPE")
	RATE_LIMIT_EXEMPT=
	NGINX_TEST_SETTINGS=() # les valeurs du site livré (deploy/nginx/fiable), telles quelles
	SMTP_PORT='' # pas de serveur SMTP de test
	S3_PORT=''   # ni de serveur S3 de test
	derive_paths
	PUBLIC_URL=${PUBLIC_URL:-$BASE_URL}
	# Courriels : par le serveur SMTP donné, sinon en fichiers .eml (à lire sans serveur).
	MAIL_SMTP_URL=${SMTP_URL:-}
	MAIL_SMTP_USER=${SMTP_USER:-}
	MAIL_SMTP_PASSWORD=${SMTP_PASSWORD:-}
	MAIL_DIR=
	[[ -n $MAIL_SMTP_URL ]] || MAIL_DIR=$(realpath -m -- "${FIABLE_MAIL_DIR:-$VAR/mail}")
	ALERT_EMAIL_TO=${ALERT_EMAIL:-}
}

# « test » : environnement isolé, jetable, compilé avec les sanitizers. Il n'utilise pas
# FIABLE_VAR/FIABLE_BUILD/PORT/PGPORT, pour ne jamais effacer ni réutiliser ceux du développement.
settings_test() {
	VAR=${FIABLE_TEST_VAR:-$ROOT/var-test}
	BUILD=${FIABLE_TEST_BUILD:-$ROOT/build-test}
	PORT=${TEST_PORT:-18080}
	PGPORT=${TEST_PGPORT:-5433}
	PRESET=test # Debug, ASan + UBSan
	FIABLE_TEST_SLOWDOWN=${FIABLE_TEST_SLOWDOWN:-1}
	[[ $FIABLE_TEST_SLOWDOWN =~ ^[0-9]+(\.[0-9]+)?$ ]] &&
		awk -v f="$FIABLE_TEST_SLOWDOWN" 'BEGIN { exit !(f >= 1) }' ||
		die "FIABLE_TEST_SLOWDOWN doit être un nombre au moins égal à 1 (reçu : $FIABLE_TEST_SLOWDOWN)"
	export FIABLE_TEST_SLOWDOWN
	# Les programmes (et les tests unitaires) compilés avec les sanitizers lisent ces options.
	export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=0}
	export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
	# Les délais de ctest (en secondes entières) suivent le même facteur, arrondi au-dessus.
	TIMEOUT_FACTOR=$(limit 1)
	if [[ ${MODE:-test} == bench ]]; then
		# Les mesures se font sur ce qui serait livré : optimisé, sans sanitizers.
		BUILD=${FIABLE_TEST_BUILD:-$ROOT/build-bench}
		PRESET=bench
	fi
	EXTRA_PACKAGES=("${TEST_PACKAGES[@]}" "${HA_PACKAGES[@]}")
	command -v npm >/dev/null || EXTRA_PACKAGES+=(nodejs npm)
	# La suite vérifie les limites par adresse depuis d'autres adresses de la boucle locale ;
	# 127.0.0.1 en est exempté.
	RATE_LIMIT_EXEMPT='        127.0.0.1 1;'
	# Délais des clients lents raccourcis : les tests qui attendent la coupure restent brefs
	# (ils lisent les valeurs dans la configuration générée).
	NGINX_TEST_SETTINGS=(client_header_timeout=3s client_body_timeout=3s)
	SMTP_PORT=${TEST_SMTP_PORT:-18025}
	S3_PORT=${TEST_S3_PORT:-18090}
	derive_paths
	# La pile que ctest démarre (fixture stack.up) : ports et dossier d'état figés dans la
	# compilation, et le fichier qui la décrit aux tests.
	CMAKE_OPTS=(-DFIABLE_TEST_TIMEOUT_FACTOR="$TIMEOUT_FACTOR" -DFIABLE_TEST_VAR="$VAR"
		-DFIABLE_TEST_PORT="$PORT" -DFIABLE_TEST_PGPORT="$PGPORT"
		-DFIABLE_TEST_SMTP_PORT="$SMTP_PORT" -DFIABLE_TEST_S3_PORT="$S3_PORT")
	mapfile -t -O "${#CMAKE_OPTS[@]}" CMAKE_OPTS < <(ha_test_cmake_opts)
	TEST_ENV_FILE=${FIABLE_TEST_ENV_FILE:-$BUILD/fiable-test.env}
	PUBLIC_URL=$BASE_URL
	# Un vrai serveur SMTP (aiosmtpd, sans TLS, sur la boucle locale) reçoit tout dans une
	# boîte Maildir que les tests lisent ; les réglages SMTP de l'appelant sont ignorés.
	MAIL_SMTP_URL=smtp://127.0.0.1:$SMTP_PORT
	MAIL_SMTP_USER=
	MAIL_SMTP_PASSWORD=
	MAIL_DIR=
	# Les alertes de fiable-check-alerts arrivent aussi dans la boîte de test.
	ALERT_EMAIL_TO=alertes@fiable.test
}

# Commandes d'aide : agissent sur FIABLE_VAR ; les valeurs enregistrées par « up » priment.
settings_helper() {
	VAR=$(realpath -m -- "${FIABLE_VAR:-$ROOT/var}")
	read_recorded "$VAR"
	PORT=${REC_PORT:-${PORT:-8080}}
	PGPORT=${REC_PGPORT:-${PGPORT:-5432}}
	BUILD=${REC_BUILD:-${FIABLE_BUILD:-$ROOT/build}}
	SMTP_PORT=$REC_SMTP_PORT # vide : cet environnement n'a pas de serveur SMTP de test
	S3_PORT=$REC_S3_PORT     # de même pour le serveur S3 de test
	derive_paths
	ha_read_recorded # une pile HA : VAR/ha.env
}

# La pile de test HA (ha-stack-up) : à côté de la pile de test, avec son propre dossier d'état,
# son port HTTP (TEST_HA_PORT) et ses ports etcd/PostgreSQL/Patroni (TEST_HA_*, ha_settings) ;
# sans serveur SMTP ni S3 de test (courriels en fichiers .eml dans VAR/mail).
settings_test_ha() {
	settings_test
	VAR=${FIABLE_TEST_HA_VAR:-$VAR-ha}
	PORT=${TEST_HA_PORT:-18081}
	SMTP_PORT='' S3_PORT=''
	ha_settings TEST_
	derive_paths
	MAIL_SMTP_URL=''
	MAIL_DIR=$VAR/mail
	TEST_ENV_FILE=${FIABLE_TEST_HA_ENV_FILE:-$BUILD/fiable-test-ha.env}
}
