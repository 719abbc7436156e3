# scripts/dev.d/nginx.sh — configuration, démarrage et arrêt de nginx
# Sourcé par scripts/dev (fonctions seulement : rien ne s'exécute au chargement).

# --- nginx -----------------------------------------------------------------------------------

# Échappe une valeur pour le côté remplacement d'une commande sed s|...|...|.
sed_esc() { printf '%s' "$1" | sed -e 's/[\\|&]/\\&/g'; }

# Le site livré (/etc/nginx/sites-available/fiable du paquet) et ce qu'en fait la pile de
# développement : ses chemins, HTTP sur 127.0.0.1:PORT à la place du bloc TLS, sans la
# redirection HTTP → HTTPS. Tout le reste (en-têtes, limites, locations) est le fichier livré.
NGINX_SITE=$ROOT/deploy/nginx/fiable

# Le site, aux chemins de cet environnement, sur la sortie standard. Chaque remplacement doit
# trouver ce qu'il remplace : un site livré qui a changé de forme arrête net la génération.
nginx_site_dev() {
	local pat
	for pat in /usr/share/fiable/static unix:/run/fiable/ /etc/fiable/htpasswd \
		/var/log/nginx/fiable- '# --- début : redirection HTTP' '# --- fin : redirection HTTP' \
		'# --- début : TLS' '# --- fin : TLS' 'geo $fiable_sans_limite {'; do
		grep -qF -- "$pat" "$NGINX_SITE" ||
			die "« $pat » ne figure plus dans $NGINX_SITE : mettez scripts/dev.d/nginx.sh à jour"
	done
	sed -e "s|/usr/share/fiable/static|$(sed_esc "$ROOT/static")|g" \
		-e "s|unix:/run/fiable/|unix:$(sed_esc "$RUN_DIR")/|g" \
		-e "s|/etc/fiable/htpasswd|$(sed_esc "$VAR/htpasswd")|g" \
		-e "s|/var/log/nginx/fiable-|$(sed_esc "$LOG_DIR")/nginx-|g" \
		-e '/^# --- début : redirection HTTP/,/^# --- fin : redirection HTTP/d' \
		-e "/^# --- début : TLS/,/^# --- fin : TLS/c\\    listen 127.0.0.1:$PORT;" \
		"$NGINX_SITE" | awk -v exempt="$RATE_LIMIT_EXEMPT" '
			{ print }
			/^geo \$fiable_sans_limite \{/ && exempt != "" { print exempt }'
}

# nginx.conf de la pile : le contexte principal et celui que le nginx.conf de Debian donne au
# bloc http (sendfile, types par défaut, gzip…), avec le site inclus tel quel dans http.
nginx_conf() {
	local user_line='' tmp=$NGINX_CONF.tmp out
	((IS_ROOT)) && user_line="user $APP_USER;"
	mkdir -p "$NGINX_PREFIX/tmp"
	{
		cat <<EOF
# Généré par scripts/dev depuis deploy/nginx/fiable (le site livré) : ne pas modifier.
$user_line
worker_processes auto;
pid $NGINX_PREFIX/nginx.pid;
error_log $LOG_DIR/nginx-error.log warn;

events {
    worker_connections 1024;
}

http {
    # Comme le nginx.conf de Debian.
    sendfile on;
    tcp_nopush on;
    types_hash_max_size 2048;
    default_type application/octet-stream;
    gzip on;
    # Fichiers temporaires sous le préfixe : nginx peut tourner sans root.
    client_body_temp_path $NGINX_PREFIX/tmp/body;
    proxy_temp_path       $NGINX_PREFIX/tmp/proxy;
    fastcgi_temp_path     $NGINX_PREFIX/tmp/fastcgi;
    uwsgi_temp_path       $NGINX_PREFIX/tmp/uwsgi;
    scgi_temp_path        $NGINX_PREFIX/tmp/scgi;

# --- deploy/nginx/fiable ---
EOF
		nginx_site_dev
		echo '}'
	} >"$tmp"
	# « test » : quelques directives à d'autres valeurs ; chacune doit figurer une fois.
	local kv name
	for kv in "${NGINX_TEST_SETTINGS[@]}"; do
		name=${kv%%=*}
		[[ $(grep -cE "^[[:space:]]*$name [^;]+;" "$tmp") == 1 ]] ||
			die "la directive $name ne figure pas une et une seule fois dans deploy/nginx/fiable : mettez scripts/dev à jour"
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
