# scripts/dev.d/nginx.sh — configuration, démarrage et arrêt de nginx
# Sourcé par scripts/dev (fonctions seulement : rien ne s'exécute au chargement).

# --- nginx -----------------------------------------------------------------------------------

# Échappe une valeur pour le côté remplacement d'une commande sed s|...|...|.
sed_esc() { printf '%s' "$1" | sed -e 's/[\\|&]/\\&/g'; }

nginx_conf() {
	local user_line='' tmp=$NGINX_CONF.tmp out
	((IS_ROOT)) && user_line="user $APP_USER;"
	sed -e "s|@PREFIX@|$(sed_esc "$NGINX_PREFIX")|g" \
		-e "s|@LOG_DIR@|$(sed_esc "$LOG_DIR")|g" \
		-e "s|@RUN_DIR@|$(sed_esc "$RUN_DIR")|g" \
		-e "s|@STATIC_DIR@|$(sed_esc "$ROOT/static")|g" \
		-e "s|@LISTEN@|$(sed_esc "127.0.0.1:$PORT")|g" \
		-e "s|@HTPASSWD@|$(sed_esc "$VAR/htpasswd")|g" \
		-e "s|@USER_LINE@|$(sed_esc "$user_line")|g" \
		-e "s|@RATE_LIMIT_EXEMPT@|$(sed_esc "$RATE_LIMIT_EXEMPT")|g" \
		"$ROOT/nginx.conf.example" >"$tmp"
	# Un marqueur inconnu de ce script (nginx.conf.example a évolué) : on refuse net.
	if grep -nE '@[A-Z_]+@' "$tmp" >&2; then
		die "marqueurs non remplacés dans la configuration nginx (voir ci-dessus) : mettez scripts/dev à jour"
	fi
	# « test » : quelques directives à d'autres valeurs ; chacune doit figurer une fois.
	local kv name
	for kv in "${NGINX_TEST_SETTINGS[@]}"; do
		name=${kv%%=*}
		[[ $(grep -cE "^[[:space:]]*$name [^;]+;" "$tmp") == 1 ]] ||
			die "la directive $name ne figure pas une et une seule fois dans nginx.conf.example : mettez scripts/dev à jour"
		sed -i -E "s/^([[:space:]]*$name) [^;]+;/\1 ${kv#*=};/" "$tmp"
	done
	out=$("$NGINX" -t -q -p "$NGINX_PREFIX/" -c "$tmp" -e "$LOG_DIR/nginx-error.log" 2>&1) || {
		printf '%s\n' "$out" >&2
		die "configuration nginx invalide ($tmp)"
	}
	mv -f "$tmp" "$NGINX_CONF"
}

# --same-conf : avec la configuration déjà écrite (scripts/dev nginx-start, après nginx-stop).
nginx_start() {
	local pid
	[[ ${1:-} == --same-conf ]] || nginx_conf
	if pid=$(live_pid "$NGINX_PID" nginx); then
		log "nginx déjà en marche (pid $pid) : rechargement de la configuration"
		kill -HUP "$pid"
		return 0
	fi
	log "démarrage de nginx sur $BASE_URL"
	# Sortie dans un fichier et non dans $(...) : un démon ne doit garder aucun tube ouvert.
	"$NGINX" -p "$NGINX_PREFIX/" -c "$NGINX_CONF" -e "$LOG_DIR/nginx-error.log" \
		</dev/null >"$LOG_DIR/nginx-start.log" 2>&1 || {
		cat "$LOG_DIR/nginx-start.log" >&2
		die "nginx n'a pas démarré"
	}
}

nginx_stop() {
	local pid
	pid=$(live_pid "$NGINX_PID" nginx) || return 0
	log "arrêt de nginx (pid $pid)"
	stop_pids QUIT 10 "$pid"
	rm -f "$NGINX_PID"
}
