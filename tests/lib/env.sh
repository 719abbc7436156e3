# tests/lib/env.sh — sourcé par les bancs d'essai en shell (tests/bench/*.sh) : sans
# FIABLE_TEST_BASE_URL dans l'environnement, exporte les variables du fichier que la fixture
# de ctest écrit (FIABLE_TEST_ENV_FILE, sinon FIABLE_TEST_BUILD/fiable-test.env, sinon
# build-test/fiable-test.env du dépôt) : une ligne NOM=valeur, la valeur jusqu'à la fin de la
# ligne, jamais évaluée. Ses valeurs décrivent une même pile et remplacent celles de l'appelant.
fiable_test_env() {
	local root file line name
	[[ -z ${FIABLE_TEST_BASE_URL:-} ]] || return 0
	root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd -P)
	file=${FIABLE_TEST_ENV_FILE:-${FIABLE_TEST_BUILD:-$root/build-test}/fiable-test.env}
	[[ -r $file ]] || return 0
	while IFS= read -r line || [[ -n $line ]]; do
		[[ -n ${line//[[:space:]]/} && ${line#"${line%%[![:space:]]*}"} != \#* ]] || continue
		name=${line%%=*}
		[[ $line == *=* && $name =~ ^[A-Za-z_][A-Za-z0-9_]*$ ]] || {
			echo "$file : ligne qui n'est pas NOM=valeur : $line" >&2
			return 1
		}
		export "$name=${line#*=}"
	done <"$file"
}
fiable_test_env
