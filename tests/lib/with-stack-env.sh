#!/usr/bin/env bash
# tests/lib/with-stack-env.sh PROGRAMME [ARGUMENTS...] : lance PROGRAMME avec la description de
# la pile de test dans son environnement (tests/lib/env.sh), pour un test qui ne lit que
# getenv(), un programme en C par exemple : add_test(... COMMAND ${FIABLE_BASH}
# ${PROJECT_SOURCE_DIR}/tests/lib/with-stack-env.sh $<TARGET_FILE:test_x>).
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/env.sh"
exec "$@"
