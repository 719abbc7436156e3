/* libFuzzer target: the CSV import of slots (slot_csv_parse), before any database. Either
 * slots within their bounds (1 to SLOT_BATCH_MAX, each ending after it starts, labels valid
 * text of at most 200 characters, besoin -1 or 1–10000, a line number) or nothing and as
 * many listed errors as returned (the list bounded); two parses of one input agree. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "slot.h"
#include "slot_import.h"
#include "validate.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct slot_local_list a = { 0 }, b = { 0 };
	struct slot_errors ea, eb;
	int rc, rc2;
	size_t i;

	if (!slot_errors_init(&ea) || !slot_errors_init(&eb))
		abort();
	rc = slot_csv_parse((const char *)data, size, &a, &ea);
	rc2 = slot_csv_parse((const char *)data, size, &b, &eb);
	if (rc != rc2 || a.n != b.n || ea.count != eb.count || rc < 0)
		abort();
	if (rc > 0) {
		if (a.n != 0 || ea.count != rc || cJSON_GetArraySize(ea.array) > SLOT_ERRORS_MAX + 1)
			abort();
	} else {
		if (a.n == 0 || a.n > SLOT_BATCH_MAX || ea.count != 0)
			abort();
		for (i = 0; i < a.n; i++) {
			const struct slot_local *s = &a.items[i];
			long n;

			if (local_minutes_between(&s->start, &s->end) <= 0 || s->line <= 0 ||
			    !civil_valid(s->start.year, s->start.month, s->start.day) ||
			    !civil_valid(s->end.year, s->end.month, s->end.day) ||
			    !(s->besoin == -1 || (s->besoin >= 1 && s->besoin <= SLOT_BESOIN_MAX)))
				abort();
			if (s->label != NULL && ((n = utf8_text_length(s->label, false)) < 1 ||
			    n > SLOT_LABEL_MAX_CHARS || strcmp(s->label, b.items[i].label) != 0))
				abort();
		}
	}
	slot_local_free(&a);
	slot_local_free(&b);
	slot_errors_free(&ea);
	slot_errors_free(&eb);
	return 0;
}
