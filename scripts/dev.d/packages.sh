# scripts/dev.d/packages.sh — paquets Debian, outils Node des tests, compilation
# Sourcé par scripts/dev (fonctions seulement : rien ne s'exécute au chargement).

# --- Paquets et compilation ------------------------------------------------------------------

ensure_packages() {
	if ! command -v dpkg-query >/dev/null; then
		warn "dpkg-query absent : vérification des paquets Debian sautée"
		return 0
	fi
	local p missing=()
	for p in "${PACKAGES[@]}" "${EXTRA_PACKAGES[@]}"; do
		[[ $(dpkg-query -W -f='${Status}' "$p" 2>/dev/null) == "install ok installed" ]] ||
			missing+=("$p")
	done
	((${#missing[@]} == 0)) && return 0
	if ((!IS_ROOT)); then
		{
			echo "Paquets manquants : ${missing[*]}"
			echo "Installez-les (en root) puis relancez :"
			echo "  sudo apt-get update && sudo DEBIAN_FRONTEND=noninteractive apt-get install -y ${missing[*]}"
		} >&2
		exit 1
	fi
	log "installation des paquets : ${missing[*]}"
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -q
	apt-get install -y -q --no-install-recommends "${missing[@]}"
}

# Outils Node des tests (tests/node/package-lock.json), réinstallés quand le verrou change.
# Les navigateurs sont ceux de Debian : puppeteer et selenium ne téléchargent rien.
node_deps() {
	local dir=$ROOT/tests/node
	if [[ -f $dir/node_modules/.package-lock.json && \
		! $dir/package-lock.json -nt $dir/node_modules/.package-lock.json ]]; then
		return 0
	fi
	log "outils Node des tests (npm ci dans tests/node)"
	(cd "$dir" && PUPPETEER_SKIP_DOWNLOAD=1 PUPPETEER_SKIP_CHROME_DOWNLOAD=1 \
		npm ci --no-audit --no-fund --loglevel=error)
}

# Les variantes de compilation (type, sanitizers, bancs d'essai) sont les préréglages de
# CMakePresets.json ; CMAKE_OPTS y ajoute ce qui dépend de l'appel (ports, facteur des délais).
build() {
	log "compilation (préréglage $PRESET${CMAKE_OPTS[*]:+ ${CMAKE_OPTS[*]}}) dans $BUILD"
	cmake -S "$ROOT" --preset "$PRESET" -B "$BUILD" "${CMAKE_OPTS[@]}"
	cmake --build "$BUILD" -j"$(nproc)"
}
