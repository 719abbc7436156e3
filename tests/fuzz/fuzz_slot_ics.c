/* libFuzzer target: the iCalendar import of slots (slot_ics_parse over libical). Either
 * slots within their bounds (1 to SLOT_BATCH_MAX, sorted, each ending after it starts, labels
 * valid text of at most 200 characters) or nothing and as many listed errors as returned;
 * two parses of one input agree. */
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
	struct slot_list a = { 0 }, b = { 0 };
	struct slot_errors ea, eb;
	int rc, rc2;
	size_t i;

	if (!slot_errors_init(&ea) || !slot_errors_init(&eb))
		abort();
	rc = slot_ics_parse((const char *)data, size, "Europe/Paris", &a, &ea);
	rc2 = slot_ics_parse((const char *)data, size, "Europe/Paris", &b, &eb);
	if (rc != rc2 || a.n != b.n || ea.count != eb.count || rc < 0)
		abort();
	if (rc > 0) {
		if (a.n != 0 || ea.count != rc || cJSON_GetArraySize(ea.array) > SLOT_ERRORS_MAX + 1)
			abort();
	} else {
		if (a.n == 0 || a.n > SLOT_BATCH_MAX || ea.count != 0)
			abort();
		for (i = 0; i < a.n; i++) {
			const struct slot *s = &a.items[i];
			long n = utf8_text_length(s->label, false);

			if (s->ends_at <= s->starts_at || n < 1 || n > SLOT_LABEL_MAX_CHARS ||
			    s->besoin != -1 || s->starts_at != b.items[i].starts_at ||
			    s->ends_at != b.items[i].ends_at || strcmp(s->label, b.items[i].label) != 0 ||
			    (i > 0 && a.items[i - 1].starts_at > s->starts_at))
				abort();
		}
	}
	slot_list_free(&a);
	slot_list_free(&b);
	slot_errors_free(&ea);
	slot_errors_free(&eb);
	return 0;
}
