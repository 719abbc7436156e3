/* backup_internal.h — what the backup jobs (backup_dump.c, backup_manifest.c, backup_load.c)
 * share, defined in backup.c and backup_manifest.c: the tables and their statements, a job's
 * session, the reading of a table through a cursor, the hashing of a row line and the
 * reading of the format's JSON. The programs use backup.h only. */
#ifndef FIABLE_BACKUP_INTERNAL_H
#define FIABLE_BACKUP_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>

#include <cjson/cJSON.h>
#include <openssl/evp.h>

#include "backup.h"
#include "db.h"

/* Bytes read, compressed or decompressed at a time. */
#define BACKUP_CHUNK (64 * 1024)

struct backup_table_def {
	const char *name;          /* live table, and its name in the payload */
	const char *scratch;       /* its scratch copy */
	enum stmt declare, declare_scratch, create_scratch, load;
	int since;                 /* the first format holding the table */
	/* In backups of format 1, when the table had other columns than today: those columns,
	 * the load that gives the missing ones their values, and the read back of the scratch
	 * table in the old columns (so the lines hash as the backup's). */
	const char *v1_columns;
	enum stmt v1_load, v1_declare_scratch;
};

extern const struct backup_table_def backup_tables[BACKUP__TABLES];

/* The settings of a job's transaction (a statement timeout for long loads). */
int backup_session_settings(struct db *db, char *err, size_t errlen);

/* "name type, ..." of a table (a live one or a scratch one) into out. */
int backup_table_columns(struct db *db, const char *table, char *out, size_t outlen,
    char *err, size_t errlen);

typedef int (*backup_row_fn)(const char *line, size_t len, void *arg, char *err,
    size_t errlen);

/* Declares the cursor, gives every row line to fn (fetched a few hundred at a time), counts
 * them into *rows and closes the cursor. */
int backup_each_row(struct db *db, enum stmt declare, const char *table, backup_row_fn fn,
    void *arg, long long *rows, char *err, size_t errlen);

/* Adds a row line to the hash of its table as the manifest has it: its bytes, then "\n". */
void backup_hash_line(EVP_MD_CTX *md, const char *line, size_t len);

/* A whole number of at most 15 digits (backup_manifest.c explains why), or a string that
 * fits in outlen, read from a member of obj; false when absent or otherwise. */
bool backup_json_count(const cJSON *obj, const char *name, long long *out);
bool backup_json_text(const cJSON *obj, const char *name, char *out, size_t outlen);

#endif
