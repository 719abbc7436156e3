/* backup.c — what the backup jobs share (backup_internal.h): the tables of a backup and their
 * statements, the temporary file a payload is written to or read from, a job's session, the
 * reading of a table through a cursor, the hashing of a row line. One file per job beside it:
 * backup_dump.c, backup_manifest.c, backup_load.c, backup_apply.c, backup_retention.c. */
#include "backup_internal.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "storage.h"

/* Long statements (the load of a large backup) run in the backup programs only. */
#define STATEMENT_TIMEOUT "30min"

/* The columns of format 1 are those of migrations 0008 to 0013 (sql/0001, 0008). */
const struct backup_table_def backup_tables[BACKUP__TABLES] = {
	[BACKUP_CAMPAIGNS] = { "campagnes", "pg_temp.restore_campagnes",
	    STMT_BACKUP_DECLARE_CAMPAIGNS, STMT_BACKUP_DECLARE_SCRATCH_CAMPAIGNS,
	    STMT_BACKUP_SCRATCH_CAMPAIGNS, STMT_BACKUP_LOAD_CAMPAIGNS, 2, NULL, 0, 0 },
	[BACKUP_SLOTS] = { "creneaux", "pg_temp.restore_creneaux",
	    STMT_BACKUP_DECLARE_SLOTS, STMT_BACKUP_DECLARE_SCRATCH_SLOTS,
	    STMT_BACKUP_SCRATCH_SLOTS, STMT_BACKUP_LOAD_SLOTS, 1,
	    "id text, starts_at timestamp with time zone, ends_at timestamp with time zone, "
	    "label text",
	    STMT_BACKUP_LOAD_SLOTS_V1, STMT_BACKUP_DECLARE_SCRATCH_SLOTS_V1 },
	[BACKUP_SUBMISSIONS] = { "soumissions_disponibilites", "pg_temp.restore_soumissions",
	    STMT_BACKUP_DECLARE_SUBMISSIONS, STMT_BACKUP_DECLARE_SCRATCH_SUBMISSIONS,
	    STMT_BACKUP_SCRATCH_SUBMISSIONS, STMT_BACKUP_LOAD_SUBMISSIONS, 1,
	    "id bigint, email text, nom text, creneaux jsonb, commentaire text, "
	    "created_at timestamp with time zone, updated_at timestamp with time zone, "
	    "deleted_at timestamp with time zone, version integer, "
	    "historique_modifications jsonb, edit_token_hash bytea",
	    STMT_BACKUP_LOAD_SUBMISSIONS_V1, STMT_BACKUP_DECLARE_SCRATCH_SUBMISSIONS_V1 },
	[BACKUP_AUDIT] = { "audit_logs", "pg_temp.restore_audit_logs",
	    STMT_BACKUP_DECLARE_AUDIT, STMT_BACKUP_DECLARE_SCRATCH_AUDIT,
	    STMT_BACKUP_SCRATCH_AUDIT, STMT_BACKUP_LOAD_AUDIT, 1, NULL, 0, 0 },
	[BACKUP_PARTICIPANTS] = { "participants", "pg_temp.restore_participants",
	    STMT_BACKUP_DECLARE_PARTICIPANTS, STMT_BACKUP_DECLARE_SCRATCH_PARTICIPANTS,
	    STMT_BACKUP_SCRATCH_PARTICIPANTS, STMT_BACKUP_LOAD_PARTICIPANTS, 3, NULL, 0, 0 },
};

const char *
backup_table_name(enum backup_table t)
{
	return (unsigned)t < BACKUP__TABLES ? backup_tables[t].name : "?";
}

bool
backup_table_in_format(enum backup_table t, int format)
{
	return (unsigned)t < BACKUP__TABLES && backup_tables[t].since <= format &&
	    format <= BACKUP_FORMAT;
}

int
backup_tmpfile(char *err, size_t errlen)
{
	const char *dir = getenv("TMPDIR");
	char path[PATH_MAX];
	int fd;

	if (dir == NULL || dir[0] != '/')
		dir = "/tmp";
	snprintf(path, sizeof(path), "%s/fiable-backup-XXXXXX", dir);
	if ((fd = mkstemp(path)) < 0) {
		snprintf(err, errlen, "fichier temporaire impossible dans %s : %s", dir,
		    storage_errno_text(errno));
		return -1;
	}
	unlink(path);
	return fd;
}

int
backup_session_settings(struct db *db, char *err, size_t errlen)
{
	const char *params[1] = { STATEMENT_TIMEOUT };

	return db_run(db, STMT_BACKUP_SESSION, params, "les réglages de la transaction", err,
	    errlen) ? 0 : -1;
}

int
backup_table_columns(struct db *db, const char *table, char *out, size_t outlen, char *err,
    size_t errlen)
{
	const char *params[1] = { table };
	PGresult *res = db_exec(db, STMT_BACKUP_COLUMNS, params);
	int ret = -1;

	if (!db_ok(res) || PQntuples(res) != 1 || PQgetisnull(res, 0, 0)) {
		db_failure_message(db, res, "la lecture des colonnes", err, errlen);
	} else if ((size_t)PQgetlength(res, 0, 0) >= outlen) {
		snprintf(err, errlen, "table %s : trop de colonnes", table);
	} else {
		snprintf(out, outlen, "%s", PQgetvalue(res, 0, 0));
		ret = 0;
	}
	PQclear(res);
	return ret;
}

int
backup_each_row(struct db *db, enum stmt declare, const char *table, backup_row_fn fn,
    void *arg, long long *rows, char *err, size_t errlen)
{
	PGresult *res = NULL;
	int i, n, ret = -1;

	*rows = 0;
	if (!db_run(db, declare, NULL, "l'ouverture du curseur", err, errlen))
		return -1;
	for (;;) {
		res = db_exec(db, STMT_BACKUP_FETCH, NULL);
		if (!db_ok(res)) {
			db_failure_message(db, res, "la lecture des lignes", err, errlen);
			goto fail;
		}
		if ((n = PQntuples(res)) == 0)
			break;
		for (i = 0; i < n; i++) {
			const char *v = PQgetvalue(res, i, 0);
			size_t len = (size_t)PQgetlength(res, i, 0);
			/* row_to_json escapes line ends in strings: a raw one would split a row. */
			if (memchr(v, '\n', len) != NULL) {
				snprintf(err, errlen, "table %s : ligne JSON sur plusieurs lignes", table);
				goto fail;
			}
			if (fn(v, len, arg, err, errlen) != 0)
				goto fail;
			(*rows)++;
		}
		PQclear(res);
		res = NULL;
	}
	ret = db_run(db, STMT_BACKUP_CLOSE, NULL, "la fermeture du curseur", err, errlen) ? 0 : -1;
fail:
	PQclear(res);
	return ret;
}

void
backup_hash_line(EVP_MD_CTX *md, const char *line, size_t len)
{
	EVP_DigestUpdate(md, line, len);
	EVP_DigestUpdate(md, "\n", 1);
}

double
backup_seconds_since(const struct timespec *start)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return (double)(now.tv_sec - start->tv_sec) + (double)(now.tv_nsec - start->tv_nsec) / 1e9;
}
