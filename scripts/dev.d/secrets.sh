# scripts/dev.d/secrets.sh — secret de l'instance et mot de passe de l'administration
# Sourcé par scripts/dev (fonctions seulement : rien ne s'exécute au chargement).

# --- Secrets ---------------------------------------------------------------------------------

ensure_secrets() {
	if [[ ! -s $VAR/secret ]]; then
		log "génération du secret ($VAR/secret)"
		(umask 077 && openssl rand -hex 32 >"$VAR/secret.tmp" && mv -f "$VAR/secret.tmp" "$VAR/secret")
	fi
	chmod 0600 "$VAR/secret"
	[[ $(<"$VAR/secret") =~ ^[0-9a-f]{64}$ ]] || die "$VAR/secret ne contient pas 64 chiffres hexadécimaux"

	if [[ ! -s $VAR/admin-password ]]; then
		log "génération du mot de passe d'administration ($VAR/admin-password)"
		(umask 077 && openssl rand -hex 12 >"$VAR/admin-password.tmp" &&
			mv -f "$VAR/admin-password.tmp" "$VAR/admin-password")
	fi
	chmod 0600 "$VAR/admin-password"

	# htpasswd : dérivé du mot de passe, refait s'il manque, si le mot de passe a changé ou
	# s'il n'est pas en bcrypt (celui d'une version précédente, en apr1).
	if [[ ! -s $VAR/htpasswd || $VAR/admin-password -nt $VAR/htpasswd ]] ||
		! grep -q '^admin:\$2y\$' "$VAR/htpasswd"; then
		write_htpasswd
	fi
}

# FIABLE_VAR/htpasswd (utilisateur admin) à partir de FIABLE_VAR/admin-password, en bcrypt ;
# remplacé d'un coup (mv). Lu par les workers nginx (www-data en root) ; le mot de passe en
# clair ne passe que par l'entrée standard de htpasswd, jamais par sa ligne de commande.
write_htpasswd() {
	command -v htpasswd >/dev/null || die "htpasswd introuvable (paquet Debian apache2-utils)"
	(umask 077 && htpasswd -niB -C "$ADMIN_BCRYPT_COST" admin <"$VAR/admin-password" |
		sed '/^$/d' >"$VAR/htpasswd.tmp")
	grep -q '^admin:\$2y\$' "$VAR/htpasswd.tmp" || die "htpasswd n'a pas produit de ligne bcrypt"
	file_as "$VAR/htpasswd.tmp" 0640 "root:$APP_USER"
	mv -f "$VAR/htpasswd.tmp" "$VAR/htpasswd"
}

# scripts/dev admin-password [--stdin] : un nouveau mot de passe d'administration, aléatoire
# ou lu sur l'entrée standard (jamais en argument : il serait visible dans ps et l'historique).
cmd_admin_password() {
	local from_stdin=0 password
	case ${1:-} in
	'') ;;
	--stdin) from_stdin=1 ;;
	*) die "usage : scripts/dev admin-password [--stdin]" ;;
	esac
	(($# <= 1)) || die "usage : scripts/dev admin-password [--stdin]"
	settings_helper
	[[ -d $VAR ]] || die "pas d'environnement dans $VAR (lancez scripts/dev up)"
	if ((from_stdin)); then
		IFS= read -r password || [[ -n $password ]] || die "aucun mot de passe sur l'entrée standard"
		# bcrypt ne lit que les 72 premiers octets ; un retour chariot ne se tape pas.
		((${#password} >= 12)) || die "mot de passe trop court (12 caractères au moins)"
		(($(printf '%s' "$password" | wc -c) <= 72)) || die "mot de passe trop long (72 octets au plus : bcrypt ignore la suite)"
		[[ $password != *$'\r'* ]] || die "le mot de passe contient un retour chariot"
	else
		password=$(openssl rand -hex 12)
	fi
	# Le mot de passe d'abord : une interruption avant le htpasswd laisse un mot de passe plus
	# récent que lui, et le prochain « up » refait le htpasswd.
	(umask 077 && printf '%s\n' "$password" >"$VAR/admin-password.tmp" &&
		mv -f "$VAR/admin-password.tmp" "$VAR/admin-password")
	chmod 0600 "$VAR/admin-password"
	write_htpasswd
	log "nouveau mot de passe de l'administration (utilisateur admin) dans $VAR/admin-password ; nginx le prend en compte dès la prochaine requête"
}
