/* backup_manifest.c — the manifest of a backup as JSON, written and read back with every
 * field checked; the row counts recorded in backup_metadata. */
#include "backup_internal.h"

#include <stdio.h>
#include <string.h>

#include "json.h"
#include "storage.h"

char *
backup_manifest_json(const struct backup_manifest *m)
{
	cJSON *root = cJSON_CreateObject(), *list, *one;
	char *text = NULL;
	int t;

	if (root == NULL ||
	    cJSON_AddNumberToObject(root, "format", m->format) == NULL ||
	    cJSON_AddNumberToObject(root, "id", (double)m->id) == NULL ||
	    cJSON_AddStringToObject(root, "object", m->object) == NULL ||
	    cJSON_AddStringToObject(root, "encoding", "gzip, JSON lines") == NULL ||
	    cJSON_AddStringToObject(root, "snapshot_at", m->snapshot_at) == NULL ||
	    cJSON_AddStringToObject(root, "schema_version", m->schema_version) == NULL ||
	    cJSON_AddNumberToObject(root, "audit_last_id", (double)m->audit_last_id) == NULL ||
	    (m->audit_chain_seq > 0 &&
	    (cJSON_AddNumberToObject(root, "audit_chain_seq", (double)m->audit_chain_seq) == NULL ||
	    cJSON_AddStringToObject(root, "audit_chain_hash", m->audit_chain_hash) == NULL)) ||
	    cJSON_AddNumberToObject(root, "size", (double)m->size) == NULL ||
	    cJSON_AddStringToObject(root, "sha256", m->sha256) == NULL ||
	    (list = cJSON_AddObjectToObject(root, "tables")) == NULL)
		goto fail;
	for (t = 0; t < BACKUP__TABLES; t++) {
		if (!backup_table_in_format((enum backup_table)t, m->format))
			continue;
		if ((one = cJSON_AddObjectToObject(list, backup_tables[t].name)) == NULL ||
		    cJSON_AddNumberToObject(one, "rows", (double)m->tables[t].rows) == NULL ||
		    cJSON_AddStringToObject(one, "sha256", m->tables[t].sha256) == NULL ||
		    cJSON_AddStringToObject(one, "columns", m->tables[t].columns) == NULL)
			goto fail;
	}
	text = json_print(root);
fail:
	cJSON_Delete(root);
	return text;
}

char *
backup_row_counts_json(const struct backup_manifest *m)
{
	cJSON *root = cJSON_CreateObject();
	char *text = NULL;
	int t;

	if (root == NULL)
		return NULL;
	for (t = 0; t < BACKUP__TABLES; t++)
		if (cJSON_AddNumberToObject(root, backup_tables[t].name,
		    (double)m->tables[t].rows) == NULL)
			goto fail;
	text = json_print(root);
fail:
	cJSON_Delete(root);
	return text;
}

/* A whole non-negative number of at most 15 digits. Not up to 2^53: cJSON writes a number
 * with 15 significant digits when that reads back within DBL_EPSILON, so 9007199254740992
 * would come back as 9007199254740990, and strtod reads "9007199254740993" as ...992. */
bool
backup_json_count(const cJSON *obj, const char *name, long long *out)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, name);

	if (!cJSON_IsNumber(v) || v->valuedouble < 0 || v->valuedouble > 999999999999999.0 ||
	    v->valuedouble != (double)(long long)v->valuedouble)
		return false;
	*out = (long long)v->valuedouble;
	return true;
}

bool
backup_json_text(const cJSON *obj, const char *name, char *out, size_t outlen)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, name);

	if (!cJSON_IsString(v) || strlen(v->valuestring) >= outlen)
		return false;
	snprintf(out, outlen, "%s", v->valuestring);
	return true;
}

static bool
sha256_hex_valid(const char *s)
{
	size_t i;

	for (i = 0; i < 64; i++)
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
			return false;
	return s[64] == '\0';
}

int
backup_manifest_parse(const char *json, struct backup_manifest *m, char *err, size_t errlen)
{
	cJSON *root = json ? json_parse_object(json, strlen(json)) : NULL;
	const cJSON *list, *one;
	long long format;
	int t, ret = -1;

	memset(m, 0, sizeof(*m));
	if (root == NULL) {
		snprintf(err, errlen, "manifeste illisible (JSON invalide)");
		goto fail;
	}
	if (!backup_json_count(root, "format", &format) || format < BACKUP_FORMAT_OLDEST ||
	    format > BACKUP_FORMAT) {
		snprintf(err, errlen, "format de sauvegarde inconnu (attendu : %d à %d)",
		    BACKUP_FORMAT_OLDEST, BACKUP_FORMAT);
		goto fail;
	}
	m->format = (int)format;
	if (!backup_json_count(root, "id", &m->id) ||
	    !backup_json_text(root, "object", m->object, sizeof(m->object)) ||
	    !backup_json_text(root, "snapshot_at", m->snapshot_at, sizeof(m->snapshot_at)) ||
	    !backup_json_text(root, "schema_version", m->schema_version,
	    sizeof(m->schema_version)) ||
	    !backup_json_count(root, "audit_last_id", &m->audit_last_id) ||
	    !backup_json_count(root, "size", &m->size) ||
	    !backup_json_text(root, "sha256", m->sha256, sizeof(m->sha256)) ||
	    !sha256_hex_valid(m->sha256) || !storage_key_valid(m->object) ||
	    !cJSON_IsObject(list = cJSON_GetObjectItemCaseSensitive(root, "tables"))) {
		snprintf(err, errlen, "manifeste incomplet ou invalide");
		goto fail;
	}
	/* The head of the audit chain: in every manifest since migration 0008, both or none. */
	if (cJSON_GetObjectItemCaseSensitive(root, "audit_chain_seq") != NULL ||
	    cJSON_GetObjectItemCaseSensitive(root, "audit_chain_hash") != NULL) {
		if (!backup_json_count(root, "audit_chain_seq", &m->audit_chain_seq) ||
		    m->audit_chain_seq <= 0 ||
		    !backup_json_text(root, "audit_chain_hash", m->audit_chain_hash,
		    sizeof(m->audit_chain_hash)) || !sha256_hex_valid(m->audit_chain_hash)) {
			snprintf(err, errlen, "manifeste : tête de la chaîne d'audit invalide");
			goto fail;
		}
	}
	for (t = 0; t < BACKUP__TABLES; t++) {
		struct backup_table_sum *sum = &m->tables[t];
		one = cJSON_GetObjectItemCaseSensitive(list, backup_tables[t].name);
		if (!backup_table_in_format((enum backup_table)t, m->format)) {
			if (one != NULL) {
				snprintf(err, errlen, "manifeste : table %s inattendue au format %d",
				    backup_tables[t].name, m->format);
				goto fail;
			}
			continue;
		}
		if (!cJSON_IsObject(one) || !backup_json_count(one, "rows", &sum->rows) ||
		    !backup_json_text(one, "sha256", sum->sha256, sizeof(sum->sha256)) ||
		    !sha256_hex_valid(sum->sha256) ||
		    !backup_json_text(one, "columns", sum->columns, sizeof(sum->columns))) {
			snprintf(err, errlen, "manifeste : table %s absente ou invalide",
			    backup_tables[t].name);
			goto fail;
		}
	}
	ret = 0;
fail:
	cJSON_Delete(root);
	return ret;
}
