/* unit.h — the smallest test harness: CHECK records a failure with its line and goes on;
 * UNIT_END prints "N passed, N failed" and gives the exit status. */
#ifndef FIABLE_UNIT_H
#define FIABLE_UNIT_H

#include <stdio.h>

static int unit_passed, unit_failed;

#define CHECK(cond, ...) do {                                              \
	if (cond) {                                                        \
		unit_passed++;                                             \
	} else {                                                           \
		unit_failed++;                                             \
		fprintf(stderr, "%s:%d: échec : %s — ", __FILE__, __LINE__, #cond); \
		fprintf(stderr, __VA_ARGS__);                              \
		fputc('\n', stderr);                                       \
	}                                                                  \
} while (0)

#define UNIT_END() (printf("%d passed, %d failed\n", unit_passed, unit_failed), \
	unit_failed == 0 ? 0 : 1)

#endif
