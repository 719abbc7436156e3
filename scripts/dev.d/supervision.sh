# scripts/dev.d/supervision.sh — processus : pids, arrêts, programmes FastCGI, envoi des courriels
# Sourcé par scripts/dev (fonctions seulement : rien ne s'exécute au chargement).

# --- Processus ------------------------------------------------------------------------------

# Lectures de /proc avec le « read » interne de bash (pas de processus par fichier lu).
# Vrai si le processus existe et n'est pas un zombie (un zombie répond encore à kill -0).
proc_alive() {
	local st
	read -r st 2>/dev/null <"/proc/$1/stat" || return 1
	st=${st##*) }
	[[ ${st:0:1} != Z ]]
}

proc_comm() { read -r "$2" 2>/dev/null <"/proc/$1/comm"; }

# live_pid FICHIER NOM : affiche le pid du fichier s'il désigne un processus vivant dont le
# nom (comm) est NOM ; échoue sinon (fichier absent, pid mort ou réutilisé par un autre).
live_pid() {
	local pid comm
	[[ -r $1 ]] || return 1
	pid=$(<"$1") || return 1 # spawn-fcgi n'écrit pas de fin de ligne
	pid=${pid//[[:space:]]/}
	[[ $pid =~ ^[0-9]+$ ]] || return 1
	proc_alive "$pid" || return 1
	proc_comm "$pid" comm || return 1
	[[ $comm == "$2" ]] || return 1
	printf '%s\n' "$pid"
}

# children_of PID [NOM] : enfants vivants de PID (dont le comm vaut NOM si donné).
children_of() {
	local f st pid state ppid comm _
	for f in /proc/[0-9]*/stat; do
		read -r st 2>/dev/null <"$f" || continue
		pid=${st%% *}
		st=${st##*) }
		read -r state ppid _ <<<"$st"
		[[ $ppid == "$1" && $state != Z ]] || continue
		# The kernel keeps 15 characters of a name (TASK_COMM_LEN): fiable-campaigns is
		# fiable-campaign there.
		if [[ -n ${2:-} ]] && ! { proc_comm "$pid" comm && [[ $comm == "${2:0:15}" ]]; }; then
			continue
		fi
		printf '%s\n' "$pid"
	done
}

# Processus fiable-NOM lancés pour CE dossier d'état (marqués par FIABLE_VAR dans leur
# environnement) : retrouve ceux qu'un multiwatch tué aurait laissés orphelins.
tagged_workers() {
	local f pid comm
	for f in /proc/[0-9]*/comm; do
		read -r comm 2>/dev/null <"$f" || continue
		[[ $comm == "fiable-$1" ]] || continue
		pid=${f#/proc/}
		pid=${pid%/comm}
		tr '\0' '\n' 2>/dev/null <"/proc/$pid/environ" | grep -qxF "FIABLE_VAR=$VAR" || continue
		proc_alive "$pid" && printf '%s\n' "$pid"
	done
	return 0
}


# wait_gone SECONDES PID... : attend la fin des processus ; échoue s'il en reste.
wait_gone() {
	local deadline=$((SECONDS + $1)) p alive
	shift
	while :; do
		alive=0
		for p in "$@"; do proc_alive "$p" && alive=1; done
		((alive)) || return 0
		((SECONDS < deadline)) || return 1
		sleep 0.1
	done
}

# stop_pids SIGNAL SECONDES PID... : envoie SIGNAL, attend, puis SIGKILL aux récalcitrants.
stop_pids() {
	local sig=$1 secs=$2 p
	shift 2
	(($# > 0)) || return 0
	kill "-$sig" "$@" 2>/dev/null || true
	if ! wait_gone "$secs" "$@"; then
		for p in "$@"; do
			if proc_alive "$p"; then
				warn "le processus $p ne s'est pas arrêté après SIG$sig : SIGKILL"
				kill -KILL "$p" 2>/dev/null || true
			fi
		done
		wait_gone 5 "$@" || warn "processus encore présents : $*"
	fi
}

# --- Programmes FastCGI ----------------------------------------------------------------------

# Environnement des programmes : vide au départ (env -i), puis le strict nécessaire.
fcgi_env() {
	FCGI_ENV=(PATH=/usr/local/bin:/usr/bin:/bin LANG=C.UTF-8)
	local name
	# Les autres réglages FIABLE_* de l'appelant (FIABLE_ALLOWED_ORIGINS, ...) sont transmis,
	# sauf ceux propres à ce script et aux tests.
	while IFS= read -r name; do
		case $name in
		FIABLE_DATABASE_URL | FIABLE_SECRET | FIABLE_TIMEZONE | FIABLE_VAR | FIABLE_BUILD | \
			FIABLE_BUILD_TYPE | FIABLE_TEST_* | FIABLE_MULTIWATCH_RETRIES | FIABLE_MAIL_DIR | \
			FIABLE_SPOOL_DIR) ;;
		FIABLE_*) FCGI_ENV+=("$name=${!name}") ;;
		esac
	done < <(compgen -e)
	FCGI_ENV+=(
		"FIABLE_DATABASE_URL=$APP_CONNINFO"
		"FIABLE_SECRET=$(<"$VAR/secret")"
		"FIABLE_TIMEZONE=${FIABLE_TIMEZONE:-Europe/Brussels}"
		"PUBLIC_URL=$PUBLIC_URL"
		"SMTP_URL=$MAIL_SMTP_URL"
		"SMTP_USER=$MAIL_SMTP_USER"
		"SMTP_PASSWORD=$MAIL_SMTP_PASSWORD"
		"FIABLE_MAIL_DIR=$MAIL_DIR"
		"FIABLE_SPOOL_DIR=$SPOOL_DIR"
		"FIABLE_ALERT_RULES=${FIABLE_ALERT_RULES:-$ROOT/cron/alert-rules.json}"
		"ALERT_EMAIL=${ALERT_EMAIL_TO:-}"
		# Marque l'instance : permet de retrouver ses processus (voir tagged_workers).
		"FIABLE_VAR=$VAR"
	)
	for name in MAIL_FROM ASAN_OPTIONS UBSAN_OPTIONS LSAN_OPTIONS; do
		[[ -z ${!name:-} ]] || FCGI_ENV+=("$name=${!name}")
	done
}

fcgi_start() {
	local name=$1 n=$2 pid
	local prog=$BUILD/cgi-bin/fiable-$name
	local pidf=$RUN_DIR/fiable-$name.pid sock=$RUN_DIR/fiable-$name.sock
	local logf=$LOG_DIR/fiable-$name.log
	[[ -x $prog ]] || die "programme introuvable : $prog (la compilation a-t-elle réussi ?)"

	if pid=$(live_pid "$pidf" multiwatch); then
		if [[ $prog -nt $pidf ]]; then
			log "fiable-$name recompilé : redémarrage"
			fcgi_stop "$name"
		else
			log "fiable-$name déjà en marche (multiwatch $pid)"
			return 0
		fi
	else
		# Pas de multiwatch vivant : nettoyer pid, socket et workers orphelins qui, gardant la
		# socket ouverte, feraient refuser le démarrage à spawn-fcgi (« socket already in use »).
		fcgi_stop "$name"
	fi
	file_as "$logf" 0640 "$APP_USER:$APP_USER"

	local owner=()
	((IS_ROOT)) && owner=(-u "$APP_USER" -g "$APP_USER" -U "$APP_USER" -G "$APP_USER")
	log "démarrage de fiable-$name ($n processus, socket $sock)"
	# spawn-fcgi redirige stdout et stderr de son enfant vers /dev/null : un petit sh rouvre
	# stderr sur le journal (ouvert sous l'utilisateur final) puis se remplace par multiwatch,
	# dont les workers héritent ce stderr (messages du programme et rapports ASan/UBSan).
	# Le pid écrit par spawn-fcgi est donc celui de multiwatch, qui relance tout worker mort.
	# -s TERM : signal transmis aux workers à l'arrêt (défaut de multiwatch : USR1).
	# shellcheck disable=SC2016,SC2094 # $1 et $@ sont ceux du sh -c ; le journal n'est pas lu
	if ! env -i "${FCGI_ENV[@]}" "$SPAWN_FCGI" -s "$sock" -M 0660 -P "$pidf" "${owner[@]}" -- \
		/bin/sh -c 'exec 2>>"$1"; shift; exec "$@"' "fiable-$name" "$logf" \
		"$MULTIWATCH" -f "$n" -r "$MW_RETRIES" -s TERM -- "$prog" </dev/null >>"$logf" 2>&1; then
		echo "----- $logf (fin)" >&2
		tail -n 20 "$logf" >&2 || true
		die "spawn-fcgi n'a pas pu démarrer fiable-$name"
	fi
	sleep 0.2
	live_pid "$pidf" multiwatch >/dev/null || {
		echo "----- $logf (fin)" >&2
		tail -n 20 "$logf" >&2 || true
		die "fiable-$name s'est arrêté aussitôt"
	}
}

fcgi_stop() {
	local name=$1 pid kids=()
	local pidf=$RUN_DIR/fiable-$name.pid sock=$RUN_DIR/fiable-$name.sock
	if pid=$(live_pid "$pidf" multiwatch); then
		log "arrêt de fiable-$name (multiwatch $pid)"
		mapfile -t kids < <(children_of "$pid")
		# multiwatch transmet SIGTERM à ses workers et se termine quand ils sont finis.
		stop_pids TERM 10 "$pid"
		((${#kids[@]} == 0)) || stop_pids TERM 5 "${kids[@]}"
	fi
	# Workers orphelins de cette instance (multiwatch tué avec SIGKILL, par exemple).
	mapfile -t kids < <(tagged_workers "$name")
	if ((${#kids[@]} > 0)); then
		log "arrêt des processus orphelins de fiable-$name : ${kids[*]}"
		stop_pids TERM 5 "${kids[@]}"
	fi
	rm -f "$pidf" "$sock"
}

# --- Envoi des courriels ----------------------------------------------------------------------

# L'envoi est un service : fiable-mail-outbox --watch, réveillé par la notification de chaque
# courriel mis en file, relancé par une petite boucle sh s'il s'arrête. Il tourne sous
# l'utilisateur des programmes FastCGI, avec leur environnement, dans sa propre session
# (arrêtée d'un bloc), menée par la boucle sh (setpriv change d'utilisateur puis se remplace).
mailer_leader_comm() { echo sh; }

# Un service « --watch » (l'envoi des courriels, le scelleur du journal d'audit) : PIDF, le
# fichier du pid de sa boucle sh ; PROG, le programme ; WHAT, ce qu'il fait (journal).
watch_service_pids() {
	local leader
	leader=$(live_pid "$1" "$(mailer_leader_comm)") || return 1
	ps -o pid= -s "$leader" 2>/dev/null | tr -d ' '
}

watch_service_start() {
	local pidf=$1 name=$2 what=$3 prog=$BUILD/cron/$2 logf=$LOG_DIR/$2.log pid
	[[ -x $prog ]] || die "programme introuvable : $prog (la compilation a-t-elle réussi ?)"
	if pid=$(live_pid "$pidf" "$(mailer_leader_comm)"); then
		if [[ $prog -nt $pidf ]]; then
			log "$name recompilé : redémarrage"
			watch_service_stop "$pidf" "$what"
		else
			log "$what déjà en marche (pid $pid)"
			return 0
		fi
	fi
	file_as "$logf" 0640 "$APP_USER:$APP_USER"
	local as=()
	((IS_ROOT)) && as=("$(command -v setpriv)" --reuid="$APP_USER" --regid="$APP_USER" --init-groups)
	log "démarrage : $what ($name --watch)"
	# env -i et setpriv se remplacent chacun par le suivant : les valeurs de l'environnement
	# (le secret) n'apparaissent dans la ligne de commande d'aucun processus qui dure.
	# shellcheck disable=SC2016 # $1 est celui du sh -c
	setsid env -i "${FCGI_ENV[@]}" "${as[@]}" /bin/sh -c \
		'while :; do "$1" --watch; sleep 1; done' "$name" "$prog" \
		</dev/null >>"$logf" 2>&1 &
	printf '%s\n' "$!" >"$pidf"
}

watch_service_stop() {
	local pids
	if pids=$(watch_service_pids "$1") && [[ -n $pids ]]; then
		log "arrêt : $2"
		# shellcheck disable=SC2086 # une liste de pids
		stop_pids TERM 10 $pids
	fi
	rm -f "$1"
}

mailer_pids() { watch_service_pids "$MAILER_PID"; }
mailer_start() { watch_service_start "$MAILER_PID" fiable-mail-outbox "envoi des courriels"; }
mailer_stop() { watch_service_stop "$MAILER_PID" "envoi des courriels"; }

# --- Scellement du journal d'audit (sql/0026) -------------------------------------------------
# fiable-audit-sealer --watch, réveillé à la validation de chaque ligne d'audit : comme l'envoi.
sealer_pids() { watch_service_pids "$SEALER_PID"; }
sealer_start() { watch_service_start "$SEALER_PID" fiable-audit-sealer "scellement du journal d'audit"; }
sealer_stop() { watch_service_stop "$SEALER_PID" "scellement du journal d'audit"; }
# Le pid du programme lui-même (enfant de la boucle sh), pour le tuer d'un coup (tests/chaos).
sealer_program_pid() {
	local leader
	leader=$(live_pid "$SEALER_PID" "$(mailer_leader_comm)") || return 1
	children_of "$leader" fiable-audit-sealer
}
