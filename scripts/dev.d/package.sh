# scripts/dev.d/package.sh — le paquet Debian (scripts/dev package)
# Sourcé par scripts/dev (fonctions seulement : rien ne s'exécute au chargement).

# --- Paquet Debian ---------------------------------------------------------------------------

# Le paquet est construit depuis une copie de l'arbre de travail (fichiers suivis et nouveaux,
# pas ceux qu'ignore git : ni build*/ ni var*/), dans un dossier temporaire :
# dpkg-buildpackage écrit dans le dossier PARENT de la source, jamais à côté du dépôt.
package_stage_tree() {
	local tree=$1 dest=$2
	mkdir -p "$dest"
	if git -C "$tree" rev-parse --show-toplevel 2>/dev/null | grep -qxF -- "$(cd "$tree" && pwd -P)"; then
		(cd "$tree" && git ls-files -z --cached --others --exclude-standard |
			while IFS= read -r -d '' f; do
				[[ -e $f || -L $f ]] && printf '%s\0' "$f"
			done | tar --null -T - -cf -) | tar -C "$dest" -xf -
	else
		tar -C "$tree" --exclude='./build*' --exclude='./var*' --exclude=./dist -cf - . |
			tar -C "$dest" -xf -
	fi
}

# --source DOSSIER : construire depuis cet arbre plutôt que depuis le dépôt (une version
# exportée, ou la copie modifiée du test package.installation).
# --version V : une entrée de plus en tête de debian/changelog (dans la copie seulement),
# pour construire une version plus récente que celle du dépôt (test d'une mise à jour).
cmd_package() {
	local version='' out=$ROOT/dist stage src deb tree=$ROOT
	while (($# > 0)); do
		case $1 in
		--version) (($# >= 2)) || die "--version demande un numéro"; version=$2; shift ;;
		--version=*) version=${1#--version=} ;;
		--out) (($# >= 2)) || die "--out demande un dossier"; out=$2; shift ;;
		--out=*) out=${1#--out=} ;;
		--source) (($# >= 2)) || die "--source demande un dossier"; tree=$2; shift ;;
		--source=*) tree=${1#--source=} ;;
		*) die "usage : scripts/dev package [--version V] [--out DOSSIER] [--source DOSSIER]" ;;
		esac
		shift
	done
	[[ -z $version || $version =~ ^[0-9][A-Za-z0-9.+~]*$ ]] ||
		die "version de paquet invalide : $version (chiffres, lettres, . + ~ ; paquet natif : pas de -)"
	EXTRA_PACKAGES=("${PACKAGE_PACKAGES[@]}")
	ensure_packages
	out=$(realpath -m -- "$out")
	stage=$(mktemp -d "${TMPDIR:-/tmp}/fiable-paquet.XXXXXX")
	# shellcheck disable=SC2064
	trap "rm -rf '$stage'" EXIT
	src=$stage/fiable
	[[ -f $tree/debian/control ]] || die "pas de debian/control dans $tree"
	package_stage_tree "$tree" "$src"
	if [[ -n $version ]]; then
		{
			printf 'fiable (%s) bookworm; urgency=medium\n\n' "$version"
			printf '  * Version %s, construite par scripts/dev package --version.\n\n' "$version"
			printf ' -- %s  %s\n\n' "$(sed -n 's/^Maintainer: //p' "$src/debian/control")" "$(date -R)"
			cat "$src/debian/changelog"
		} >"$src/debian/changelog.new"
		mv "$src/debian/changelog.new" "$src/debian/changelog"
	fi
	log "construction du paquet Debian ($(cd "$src" && dpkg-parsechangelog -S Version)) dans $stage"
	(cd "$src" && DEB_BUILD_OPTIONS="parallel=$(nproc) ${DEB_BUILD_OPTIONS:-}" \
		dpkg-buildpackage -b -us -uc) >"$stage/build.log" 2>&1 || {
		tail -n 60 "$stage/build.log" >&2
		die "dpkg-buildpackage a échoué (journal complet ci-dessus, fin)"
	}
	mkdir -p "$out"
	for deb in "$stage"/*.deb; do
		mv -f "$deb" "$out/"
		deb=$out/${deb##*/}
		log "lintian $deb"
		# Les avertissements sont affichés ; une erreur fait échouer la construction.
		lintian --fail-on error --tag-display-limit 0 "$deb" ||
			die "lintian signale une erreur dans $deb"
		echo "$deb"
	done
}
