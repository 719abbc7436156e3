# scripts/dev.d/commands.sh — les commandes de scripts/dev, hors tests
# Sourcé par scripts/dev (fonctions seulement : rien ne s'exécute au chargement).

# --- Commandes -------------------------------------------------------------------------------

cmd_up() {
	[[ $# -eq 0 || $* == --ha ]] || die "up : seule option connue : --ha (reçu : $*)"
	settings_dev "$@"
	do_up
	local mail
	if [[ -n $MAIL_SMTP_URL ]]; then
		mail="envoyés par $MAIL_SMTP_URL"
	else
		mail="écrits dans $MAIL_DIR/ (aucun serveur SMTP configuré)"
	fi
	cat <<EOF

Fiable est prêt : $BASE_URL/
  Administration : $BASE_URL/admin/  (utilisateur admin, mot de passe dans $VAR/admin-password ;
                   pour le changer : scripts/dev admin-password)
  Journaux       : $LOG_DIR/  (scripts/dev logs)
  Courriels      : $mail
  Base           : scripts/dev psql   (superutilisateur ; l'application se connecte en fiable_app)
  Sauvegardes    : ${BACKUP_DESTINATION:-$BACKUP_DIR/}  (scripts/dev cron backup-submissions ; voir README)
  Arrêt          : scripts/dev down
EOF
}

cmd_down() {
	settings_helper
	stop_all
	log "tout est arrêté ($VAR)"
}


cmd_status() {
	settings_helper
	local pid p name kids out all=1
	echo "Environnement : $VAR (port HTTP $PORT, PGPORT $PGPORT)"
	if [[ -f $PG_DATA/PG_VERSION ]] && pg_running; then
		echo "  PostgreSQL     en marche (socket $PG_SOCK_DIR, port $PGPORT)"
	else
		echo "  PostgreSQL     arrêté"
		all=0
	fi
	for p in "${FCGI_PROGRAMS[@]}"; do
		name=${p%%:*}
		if pid=$(live_pid "$RUN_DIR/fiable-$name.pid" multiwatch); then
			mapfile -t kids < <(children_of "$pid" "fiable-$name")
			printf '  %-14s en marche (multiwatch %s ; %s/%s processus : %s)\n' \
				"fiable-$name" "$pid" "${#kids[@]}" "${p##*:}" "${kids[*]}"
		else
			printf '  %-14s arrêté\n' "fiable-$name"
			all=0
		fi
	done
	if [[ -n $SMTP_PORT ]]; then
		if pid=$(smtp_pid); then
			echo "  SMTP de test   en marche (pid $pid, 127.0.0.1:$SMTP_PORT, boîte $MAILBOX)"
		else
			echo "  SMTP de test   arrêté"
			all=0
		fi
	fi
	if [[ -n $S3_PORT ]]; then
		if pid=$(s3_pid); then
			echo "  S3 de test     en marche (pid $pid, http://127.0.0.1:$S3_PORT, compartiment $S3_TEST_BUCKET)"
		else
			echo "  S3 de test     arrêté"
			all=0
		fi
	fi
	if pid=$(live_pid "$NGINX_PID" nginx); then
		echo "  nginx          en marche (pid $pid) : $BASE_URL/"
		if out=$(curl -fsS --max-time 2 "$BASE_URL/api/health" 2>&1); then
			echo "  santé          $out"
		else
			echo "  santé          ÉCHEC : $out"
			all=0
		fi
	else
		echo "  nginx          arrêté"
		all=0
	fi
	((all)) || exit 3
}

cmd_logs() {
	settings_helper
	local follow=0 files=()
	if [[ ${1:-} == -f ]]; then
		follow=1
		shift
	fi
	if (($# > 0)); then
		files=("$LOG_DIR/${1%.log}.log")
		[[ -f ${files[0]} ]] || die "journal introuvable : ${files[0]}"
	else
		shopt -s nullglob
		files=("$LOG_DIR"/*.log)
		((${#files[@]} > 0)) || die "aucun journal dans $LOG_DIR"
	fi
	if ((follow)); then
		exec tail -n 20 -F "${files[@]}"
	fi
	tail -n 40 "${files[@]}"
}

# Redémarrage en douceur des processus d'un programme, un par un : chacun finit sa requête
# (SIGTERM), multiwatch le remplace, et le suivant n'est arrêté qu'une fois le remplaçant là.
cmd_fcgi_restart() {
	(($# == 1)) || die "usage : scripts/dev fcgi-restart NOM (submit, form, health, modify, restore, metrics, campaigns)"
	settings_helper
	local mw pid n i
	mw=$(live_pid "$RUN_DIR/fiable-$1.pid" multiwatch) || die "fiable-$1 n'est pas en marche ($VAR)"
	for pid in $(children_of "$mw" "fiable-$1"); do
		n=$(children_of "$mw" "fiable-$1" | wc -l)
		kill -TERM "$pid" 2>/dev/null || continue
		for ((i = 0; i < 100; i++)); do
			if ! proc_alive "$pid" && (($(children_of "$mw" "fiable-$1" | wc -l) >= n)); then
				break
			fi
			sleep 0.05
		done
	done
	log "fiable-$1 redémarré ($(children_of "$mw" "fiable-$1" | wc -l) processus)"
}

# Un programme de cron/ lancé à la main sur cet environnement : l'environnement des programmes
# (base, secret) et les réglages de sauvegarde de l'appelant (BACKUP_*, S3_*), avec pour
# destination par défaut FIABLE_VAR/backups et le rôle fiable_backup (fiable_restore pour
# une restauration --apply).
cmd_cron() {
	(($# >= 1)) || die "usage : scripts/dev cron NOM [ARGUMENTS] (backup-submissions, cleanup-old-backups, restore-backup...)"
	settings_helper
	local name=$1 prog role=fiable_backup a env
	shift
	prog=$BUILD/cron/fiable-$name
	[[ $name =~ ^[a-z-]+$ && -x $prog ]] || die "programme introuvable : $prog"
	[[ -s $VAR/secret ]] || die "pas de secret dans $VAR (lancez scripts/dev up)"
	for a in "$@"; do [[ $a == --apply ]] && role=fiable_restore; done
	env=(PATH=/usr/local/bin:/usr/bin:/bin LANG=C.UTF-8
		"FIABLE_DATABASE_URL=$APP_CONNINFO" "FIABLE_SECRET=$(<"$VAR/secret")"
		"BACKUP_DESTINATION=${BACKUP_DESTINATION:-$BACKUP_DIR}"
		"BACKUP_DATABASE_URL=${BACKUP_DATABASE_URL:-${APP_CONNINFO/user=fiable_app/user=$role}}")
	while IFS= read -r a; do
		case $a in
		BACKUP_DESTINATION | BACKUP_DATABASE_URL) ;;
		BACKUP_* | S3_* | SMTP_* | MAIL_FROM | ALERT_EMAIL | PUBLIC_URL | FIABLE_TIMEZONE | TMPDIR | \
			FIABLE_SYNC_STANDBYS | \
			ASAN_OPTIONS | UBSAN_OPTIONS | LSAN_OPTIONS) env+=("$a=${!a}") ;;
		esac
	done < <(compgen -e)
	exec env -i "${env[@]}" "$prog" "$@"
}

cmd_worker_pids() {
	(($# == 1)) || die "usage : scripts/dev worker-pids NOM (submit, form, health, modify, restore, metrics, campaigns)"
	settings_helper
	local pid
	pid=$(live_pid "$RUN_DIR/fiable-$1.pid" multiwatch) || die "fiable-$1 n'est pas en marche ($VAR)"
	children_of "$pid" "fiable-$1"
}

# L'environnement des programmes d'une instance déjà là (mailer-start, sealer-start, fcgi-scale) : ses
# réglages de courriel, le serveur SMTP de test s'il y en a un, sinon ceux de « up »
# (variables SMTP_* de l'appelant, ou fichiers .eml).
helper_program_env() {
	PUBLIC_URL=${PUBLIC_URL:-$BASE_URL}
	MAIL_SMTP_URL=${SMTP_URL:-}
	MAIL_SMTP_USER=${SMTP_USER:-}
	MAIL_SMTP_PASSWORD=${SMTP_PASSWORD:-}
	MAIL_DIR=''
	if [[ -n $SMTP_PORT ]]; then
		MAIL_SMTP_URL=smtp://127.0.0.1:$SMTP_PORT
		MAIL_SMTP_USER=''
		MAIL_SMTP_PASSWORD=''
	fi
	[[ -n $MAIL_SMTP_URL ]] || MAIL_DIR=$(realpath -m -- "${FIABLE_MAIL_DIR:-$VAR/mail}")
	fcgi_env
}

# fcgi-scale NOM N [BASE] (bancs d'essai, issue 18) : fiable-NOM arrêté puis redémarré avec
# N processus, connectés à la base BASE du même cluster (une copie jetable, par exemple).
# Les requêtes qui arrivent pendant le redémarrage (une fraction de seconde) reçoivent 502.
cmd_fcgi_scale() {
	(($# == 2 || $# == 3)) || die "usage : scripts/dev fcgi-scale NOM N [BASE]"
	local name=$1 n=$2 base=${3:-fiable} p known=0
	for p in "${FCGI_PROGRAMS[@]}"; do [[ ${p%%:*} == "$name" ]] && known=1; done
	((known)) || die "programme inconnu : $name"
	[[ $n =~ ^[0-9]+$ ]] && ((n >= 1 && n <= 64)) || die "nombre de processus invalide : $n (1 à 64)"
	[[ $base =~ ^[a-z_][a-z0-9_]{0,62}$ ]] || die "nom de base invalide : $base"
	settings_helper
	find_tools
	APP_CONNINFO=${APP_CONNINFO/dbname=fiable /dbname=$base }
	helper_program_env
	fcgi_stop "$name"
	fcgi_start "$name" "$n"
}
