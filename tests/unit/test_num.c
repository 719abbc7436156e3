/* The one integer parser: what it accepts, what it refuses, and the bounds. */
#include <limits.h>

#include "num.h"
#include "unit.h"

int
main(void)
{
	static const struct {
		const char *text;
		long long min, max;
		bool ok;
		long long want;
	} cases[] = {
		{ "0", 0, 10, true, 0 },
		{ "10", 0, 10, true, 10 },
		{ "11", 0, 10, false, 0 },
		{ "-1", 0, 10, false, 0 },
		{ "-1", -5, 10, true, -1 },
		{ "007", 0, 10, true, 7 },
		{ "", 0, 10, false, 0 },
		{ "-", -5, 10, false, 0 },
		{ " 1", 0, 10, false, 0 },
		{ "1 ", 0, 10, false, 0 },
		{ "+1", 0, 10, false, 0 },
		{ "1x", 0, 10, false, 0 },
		{ "0x1", 0, 10, false, 0 },
		{ "1.5", 0, 10, false, 0 },
		{ "9223372036854775807", 0, LLONG_MAX, true, LLONG_MAX },
		{ "9223372036854775808", 0, LLONG_MAX, false, 0 },
		{ "-9223372036854775809", LLONG_MIN, 0, false, 0 },
		{ NULL, 0, 10, false, 0 },
	};
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		long long n = 42;
		bool ok = num_parse(cases[i].text, cases[i].min, cases[i].max, &n);

		CHECK(ok == cases[i].ok, "cas %zu « %s »", i, cases[i].text ? cases[i].text : "NULL");
		CHECK(n == (ok ? cases[i].want : 42), "cas %zu : %lld", i, n);
	}
	return UNIT_END();
}
