# scripts/dev.d/base.sh — messages, plafonds d'attente, dossiers et fichiers avec leurs droits
# Sourcé par scripts/dev (fonctions seulement : rien ne s'exécute au chargement).

# --- Messages -------------------------------------------------------------------------------

log() { printf '==> %s\n' "$*"; }
warn() { printf 'ATTENTION : %s\n' "$*" >&2; }
die() {
	printf 'ERREUR : %s\n' "$*" >&2
	exit 1
}

usage() { sed -n '2,/^set -euo/{/^set -euo/d;s/^# \{0,1\}//;p}' "$SELF"; }
# limit SECONDES : le plafond d'une attente, multiplié par FIABLE_TEST_SLOWDOWN (arrondi).
limit() { awk -v s="$1" -v f="${FIABLE_TEST_SLOWDOWN:-1}" 'BEGIN { n = s * f; printf "%d\n", (n == int(n)) ? n : int(n) + 1 }'; }
# --- Dossiers et permissions ------------------------------------------------------------------

# mkdir_as DOSSIER MODE [PROPRIÉTAIRE[:GROUPE]] : le propriétaire n'est appliqué qu'en root.
mkdir_as() {
	mkdir -p -- "$1"
	if ((IS_ROOT)) && [[ -n ${3:-} ]]; then chown "$3" "$1"; fi
	chmod "$2" "$1"
}

# file_as FICHIER MODE [PROPRIÉTAIRE[:GROUPE]] : crée le fichier s'il manque (sans le vider).
file_as() {
	[[ -e $1 ]] || : >>"$1"
	if ((IS_ROOT)) && [[ -n ${3:-} ]]; then chown "$3" "$1"; fi
	chmod "$2" "$1"
}
