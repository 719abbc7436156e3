/* libFuzzer target: the backup manifest reader. A manifest comes back from the object store
 * before a restore, so it is read as untrusted text: on success every field must be within
 * its bounds and NUL-terminated, and writing it out again must read back to the same; on
 * failure the error must be a message. Both parses of one input must agree. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "backup.h"
#include "storage.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Largest count a manifest may hold (15 digits: cJSON writes it back exactly). */
#define COUNT_MAX 999999999999999LL

static bool
terminated(const char *field, size_t cap)
{
	return memchr(field, '\0', cap) != NULL;
}

static bool
sha256_ok(const char *s)
{
	size_t i;

	for (i = 0; i < 64; i++)
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
			return false;
	return s[64] == '\0';
}

static bool
count_ok(long long n)
{
	return n >= 0 && n <= COUNT_MAX;
}

static void
check_valid(const struct backup_manifest *m)
{
	int t;

	if (m->format < BACKUP_FORMAT_OLDEST || m->format > BACKUP_FORMAT || !count_ok(m->id) || !count_ok(m->audit_last_id) ||
	    !count_ok(m->size) || !sha256_ok(m->sha256) ||
	    !terminated(m->object, sizeof(m->object)) ||
	    !terminated(m->snapshot_at, sizeof(m->snapshot_at)) ||
	    !terminated(m->schema_version, sizeof(m->schema_version)) ||
	    !storage_key_valid(m->object))
		abort();
	/* A table the format lacks stays empty (zeroed). */
	for (t = 0; t < BACKUP__TABLES; t++)
		if (backup_table_in_format((enum backup_table)t, m->format) ?
		    (!count_ok(m->tables[t].rows) || !sha256_ok(m->tables[t].sha256) ||
		    !terminated(m->tables[t].columns, sizeof(m->tables[t].columns))) :
		    (m->tables[t].rows != 0 || m->tables[t].sha256[0] != '\0' ||
		    m->tables[t].columns[0] != '\0'))
			abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	/* Static: each is over 6 KB. */
	static struct backup_manifest m, m2, back;
	char *s, *json, *again, err[256], err2[256];
	int rc;

	if ((s = malloc(size + 1)) == NULL)
		return 0;
	memcpy(s, data, size);
	s[size] = '\0';
	memset(err, 'x', sizeof(err));
	rc = backup_manifest_parse(s, &m, err, sizeof(err));
	if (rc != backup_manifest_parse(s, &m2, err2, sizeof(err2)) ||
	    memcmp(&m, &m2, sizeof(m)) != 0)
		abort();
	free(s);
	if (rc != 0) {
		if (rc != -1 || !terminated(err, sizeof(err)) || err[0] == '\0' ||
		    strcmp(err, err2) != 0)
			abort();
		return 0;
	}
	check_valid(&m);
	/* Round trip: what the backup program would write for m reads back as m. */
	if ((json = backup_manifest_json(&m)) == NULL)
		return 0;
	if (backup_manifest_parse(json, &back, err, sizeof(err)) != 0 ||
	    memcmp(&m, &back, sizeof(m)) != 0)
		abort();
	again = backup_manifest_json(&back);
	if (again != NULL && strcmp(json, again) != 0)
		abort();
	cJSON_free(again);
	cJSON_free(json);
	return 0;
}
