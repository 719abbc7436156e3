#!/bin/sh
# The libFuzzer targets in CI: their own build with clang (ENABLE_FUZZING: the library and
# the targets only, instrumented, with ASan/UBSan), then each target run briefly on its seed
# corpus (tests/fuzz/CMakeLists.txt). Registered in ctest as fuzz.libfuzzer.
# Usage : ci.sh SOURCE_DIR BUILD_DIR
set -eu
src=$1
build=$2
if ! command -v clang >/dev/null 2>&1; then
	echo "clang manque pour les cibles libFuzzer : apt-get install clang libclang-rt-dev" >&2
	exit 1
fi
echo "compilation des cibles libFuzzer (clang) dans $build"
# The fuzz preset of CMakePresets.json: clang, ENABLE_FUZZING=ON, Debug.
cmake -S "$src" --preset fuzz -B "$build" >/dev/null
cmake --build "$build" -j"$(nproc)" >/dev/null
exec ctest --test-dir "$build" --output-on-failure --no-tests=error -R '^fuzz\.'
