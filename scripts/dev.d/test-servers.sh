# scripts/dev.d/test-servers.sh — serveurs SMTP et S3 de test (« test » seulement)
# Sourcé par scripts/dev (fonctions seulement : rien ne s'exécute au chargement).

# --- Serveur SMTP de test ---------------------------------------------------------------------

# Pid du serveur SMTP de ce FIABLE_VAR (un python3 dont la commande nomme aiosmtpd et la
# boîte de cet environnement), ou échec.
smtp_pid() {
	local pid cmdline
	pid=$(live_pid "$SMTP_PID" python3) || return 1
	cmdline=$(tr '\0' ' ' 2>/dev/null <"/proc/$pid/cmdline") || return 1
	[[ $cmdline == *" -m aiosmtpd "*" $MAILBOX"* ]] || return 1
	printf '%s\n' "$pid"
}

# Vrai si un serveur SMTP répond « 220 » sur 127.0.0.1:PORT.
smtp_answers() {
	# shellcheck disable=SC2016 # $1 est celui du bash -c
	timeout 5 bash -c 'exec 3<>"/dev/tcp/127.0.0.1/$1" && read -r -t 4 line <&3 &&
		[[ $line == 220* ]] && printf "QUIT\r\n" >&3' smtp-probe "$1" 2>/dev/null
}

smtp_start() {
	local pid deadline d
	[[ -n $SMTP_PORT ]] ||
		die "pas de serveur SMTP de test dans $VAR (seul « scripts/dev test » en démarre un)"
	if pid=$(smtp_pid); then
		log "serveur SMTP de test déjà en marche (pid $pid, port $SMTP_PORT)"
		return 0
	fi
	"$SMTP_PYTHON" -c 'import aiosmtpd' 2>/dev/null ||
		die "module aiosmtpd introuvable pour $SMTP_PYTHON (paquet Debian python3-aiosmtpd)"
	# Un autre serveur sur ce port recevrait les courriels des tests à la place du nôtre.
	! smtp_answers "$SMTP_PORT" ||
		die "le port SMTP $SMTP_PORT répond déjà : choisissez-en un autre (TEST_SMTP_PORT)"
	# Une boîte Maildir : aiosmtpd ne crée ses sous-dossiers que si elle n'existe pas du tout.
	for d in "$MAILBOX" "$MAILBOX/tmp" "$MAILBOX/new" "$MAILBOX/cur"; do mkdir_as "$d" 0755; done
	log "démarrage du serveur SMTP de test (127.0.0.1:$SMTP_PORT, boîte $MAILBOX)"
	# Sa propre session, stdin/stdout/stderr hors de tout tube : il survit à la commande
	# qui l'a lancé (un test qui simule une panne) sans la faire attendre.
	# Le gestionnaire (tests/lib/boite_smtp.py) : la boîte Maildir d'aiosmtpd, qui refuse
	# pour de bon (550) les adresses commençant par « refus-smtp ».
	PYTHONPATH="$ROOT/tests/lib" setsid "$SMTP_PYTHON" -m aiosmtpd -n -l "127.0.0.1:$SMTP_PORT" \
		-c boite_smtp.BoiteAvecRefus "$MAILBOX" </dev/null >>"$SMTP_LOG" 2>&1 &
	printf '%s\n' "$!" >"$SMTP_PID"
	deadline=$((SECONDS + $(limit "$START_TIMEOUT")))
	until smtp_answers "$SMTP_PORT"; do
		if ! smtp_pid >/dev/null || ((SECONDS >= deadline)); then
			echo "----- $SMTP_LOG (fin)" >&2
			tail -n 20 "$SMTP_LOG" >&2 || true
			die "le serveur SMTP de test n'a pas démarré"
		fi
		sleep 0.1
	done
}

smtp_stop() {
	local pid
	if pid=$(smtp_pid); then
		log "arrêt du serveur SMTP de test (pid $pid)"
		stop_pids TERM 5 "$pid"
	fi
	rm -f "$SMTP_PID"
}

# --- Serveur S3 de test ----------------------------------------------------------------------

# Identifiants et compartiment du serveur S3 de test (factices ; une région autre que celle par
# défaut, pour que sa signature soit vérifiée aussi).
S3_TEST_BUCKET=backups
S3_TEST_KEY_ID=S3RVER
S3_TEST_SECRET=S3RVER
S3_TEST_REGION=eu-west-3

# Pid du serveur S3 de ce FIABLE_VAR (un node qui lance tests/s3/s3-server.js sur le dossier de
# cet environnement), ou échec.
s3_pid() {
	local pid cmdline
	pid=$(live_pid "$S3_PID" node) || return 1
	cmdline=$(tr '\0' ' ' 2>/dev/null <"/proc/$pid/cmdline") || return 1
	[[ $cmdline == *"/tests/s3/s3-server.js "*" --dir $S3_DIR "* ]] || return 1
	printf '%s\n' "$pid"
}

# Vrai si le frontal S3 de test répond sur 127.0.0.1:PORT.
s3_answers() {
	[[ $(curl -fsS --max-time 5 "http://127.0.0.1:$1/__fiable/ping" 2>/dev/null) == pong ]]
}

s3_start() {
	local pid deadline modules=$ROOT/tests/node/node_modules
	[[ -n $S3_PORT ]] ||
		die "pas de serveur S3 de test dans $VAR (seul « scripts/dev test » en démarre un)"
	if pid=$(s3_pid); then
		log "serveur S3 de test déjà en marche (pid $pid, port $S3_PORT)"
		return 0
	fi
	command -v node >/dev/null || die "node introuvable (paquet Debian nodejs)"
	[[ -d $modules/s3rver && -d $modules/aws4 ]] ||
		die "s3rver ou aws4 absent de $modules (npm ci dans tests/node)"
	# Un autre serveur sur ce port recevrait les sauvegardes des tests à la place du nôtre.
	! s3_answers "$S3_PORT" ||
		die "le port S3 $S3_PORT répond déjà : choisissez-en un autre (TEST_S3_PORT)"
	mkdir_as "$S3_DIR" 0700
	log "démarrage du serveur S3 de test (127.0.0.1:$S3_PORT, compartiment $S3_TEST_BUCKET, signatures SigV4 vérifiées)"
	# Comme le serveur SMTP : sa propre session, hors de tout tube.
	FIABLE_TEST_NODE_MODULES=$modules setsid node "$ROOT/tests/s3/s3-server.js" \
		--port "$S3_PORT" --dir "$S3_DIR" --bucket "$S3_TEST_BUCKET" \
		--access-key "$S3_TEST_KEY_ID" --secret-key "$S3_TEST_SECRET" --region "$S3_TEST_REGION" \
		</dev/null >>"$S3_LOG" 2>&1 &
	printf '%s\n' "$!" >"$S3_PID"
	deadline=$((SECONDS + $(limit "$START_TIMEOUT")))
	until s3_answers "$S3_PORT"; do
		if ! s3_pid >/dev/null || ((SECONDS >= deadline)); then
			echo "----- $S3_LOG (fin)" >&2
			tail -n 20 "$S3_LOG" >&2 || true
			die "le serveur S3 de test n'a pas démarré"
		fi
		sleep 0.1
	done
}

s3_stop() {
	local pid
	if pid=$(s3_pid); then
		log "arrêt du serveur S3 de test (pid $pid)"
		stop_pids TERM 5 "$pid"
	fi
	rm -f "$S3_PID"
}
