/* The growing buffer: appends, formats, growth past the first allocation, the sticky failure. */
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "unit.h"

int
main(void)
{
	static const struct { const char *parts[4]; const char *want; } cases[] = {
		{ { "", NULL }, "" },
		{ { "a", NULL }, "a" },
		{ { "Subject: ", "=?UTF-8?B?", "Zg==?=", NULL }, "Subject: =?UTF-8?B?Zg==?=" },
		{ { "ligne\r\n", "", "fin", NULL }, "ligne\r\nfin" },
	};
	struct buf b = BUF_INIT;
	char big[3000];
	size_t i, j;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		for (j = 0; cases[i].parts[j] != NULL; j++)
			buf_adds(&b, cases[i].parts[j]);
		CHECK(!b.failed && b.p != NULL && strcmp(b.p, cases[i].want) == 0 &&
		    b.len == strlen(cases[i].want), "cas %zu : « %s »", i, b.p ? b.p : "(null)");
		buf_free(&b);
		CHECK(b.p == NULL && b.len == 0 && b.cap == 0 && !b.failed, "cas %zu libéré", i);
	}

	/* Bytes, NUL included, and formats. */
	buf_add(&b, "a\0b", 3);
	CHECK(b.len == 3 && memcmp(b.p, "a\0b", 4) == 0, "octets avec NUL (%zu)", b.len);
	buf_clear(&b);
	CHECK(b.len == 0 && b.p[0] == '\0' && b.cap > 0, "vidé, mémoire gardée");
	buf_printf(&b, "%s %d %.2f", "fiable_kpi_met", 1, 12.5);
	buf_printf(&b, "%s", "");
	buf_add(&b, "!", 1);
	CHECK(strcmp(b.p, "fiable_kpi_met 1 12.50!") == 0, "format : « %s »", b.p);

	/* Growth past the first allocation, by appends and by one long format. */
	memset(big, 'x', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	buf_clear(&b);
	for (i = 0; i < 10; i++)
		buf_adds(&b, big);
	CHECK(!b.failed && b.len == 10 * (sizeof(big) - 1) && b.p[b.len] == '\0' &&
	    b.cap > b.len, "10 × %zu octets (%zu)", sizeof(big) - 1, b.len);
	buf_clear(&b);
	buf_printf(&b, "<%s>", big);
	CHECK(!b.failed && b.len == sizeof(big) + 1 && b.p[0] == '<' && b.p[b.len - 1] == '>',
	    "format long (%zu)", b.len);
	buf_free(&b);

	/* After a failure every append is a no-op and failed stays set (until buf_free). */
	buf_adds(&b, "avant");
	b.failed = true;
	buf_adds(&b, "après");
	buf_add(&b, "x", 1);
	buf_printf(&b, "%d", 42);
	buf_clear(&b);
	CHECK(b.failed && b.len == 0, "échec collant (%zu)", b.len);
	buf_free(&b);
	CHECK(!b.failed, "buf_free remet à zéro");
	/* An impossible size fails instead of wrapping. */
	buf_adds(&b, "a");
	buf_add(&b, "", (size_t)-1);
	CHECK(b.failed && b.len == 1 && strcmp(b.p, "a") == 0, "taille impossible refusée");
	buf_free(&b);
	return UNIT_END();
}
