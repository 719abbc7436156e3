/* backup.h — what a restore needs (the campaigns, their slots, every submission with the
 * withdrawn ones and their history, the audit log, the participants of the campaigns), read in ONE REPEATABLE READ READ ONLY transaction
 * and streamed through a cursor as gzip-compressed JSON lines, with a manifest; the proof
 * that a backup restores (loaded into scratch tables and compared with its manifest); its
 * application to the live database; the retention policy of the cleanup.
 *
 * The payload, one JSON object a line: for each table a header line
 * {"fiable_backup":1,"table":NAME,"columns":"id bigint, ..."} then one line per row, the
 * row as PostgreSQL's row_to_json writes it. The manifest gives the SHA-256 of the
 * compressed payload and, per table, the row count and the SHA-256 of its row lines. */
#ifndef FIABLE_BACKUP_H
#define FIABLE_BACKUP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <time.h>

#include "db.h"

/* The format written, and the oldest one read:
 *   1  (migrations 0008 to 0013) creneaux, soumissions_disponibilites, audit_logs;
 *   2  (0014) campagnes first; creneaux and soumissions_disponibilites with their campaign;
 *   3  (0018, 0024) participants last, with their invitation token's hash and their
 *      unsubscription from reminders (personal links keep working after a restoration).
 * A backup of format 2 restores with no participants. A backup of format 1 restores into today's tables: its slots and answers into the first
 * campaign (campagne_par_defaut(), sql/0014), with the values the migration gave theirs. */
#define BACKUP_FORMAT 3
#define BACKUP_FORMAT_OLDEST 1
/* pg_advisory_lock key held by a backup or a cleanup for its whole run: one at a time. */
#define BACKUP_LOCK_KEY "7310012346"
/* pg_advisory_xact_lock key of --apply: two restorations never interleave. */
#define BACKUP_APPLY_LOCK_KEY "7310012347"
/* The hint of a refused permission (db_set_denied_hint) for the connections of
 * BACKUP_DATABASE_URL, on which the jobs below run. */
#define BACKUP_DENIED_HINT "droits insuffisants pour le rôle de BACKUP_DATABASE_URL " \
	"(fiable_backup ; fiable_restore pour --apply : voir sql/0006_sauvegardes.sql)"
#define BACKUP_SHA256_HEX 65
#define BACKUP_COLUMNS_MAX 2048

enum backup_table {
	BACKUP_CAMPAIGNS,       /* campagnes (since format 2) */
	BACKUP_SLOTS,           /* creneaux */
	BACKUP_SUBMISSIONS,     /* soumissions_disponibilites */
	BACKUP_AUDIT,           /* audit_logs */
	BACKUP_PARTICIPANTS,    /* participants (since format 3) */
	BACKUP__TABLES
};

struct backup_table_sum {
	long long rows;                     /* 0 for a table the backup's format lacks */
	char sha256[BACKUP_SHA256_HEX];     /* of the row lines, each with its "\n" */
	char columns[BACKUP_COLUMNS_MAX];   /* "id bigint, email text, ..." */
};

struct backup_manifest {
	int format;
	long long id;                       /* backup_metadata.id */
	char object[256];                   /* key of the payload */
	char snapshot_at[40];               /* UTC, ISO 8601 */
	char schema_version[128];           /* newest applied migration */
	long long audit_last_id;
	long long audit_chain_seq;          /* head of the audit hash chain (0: none, or a
	                                     * manifest written before migration 0008) */
	char audit_chain_hash[BACKUP_SHA256_HEX];
	long long size;                     /* bytes of the compressed payload */
	char sha256[BACKUP_SHA256_HEX];     /* of the compressed payload */
	struct backup_table_sum tables[BACKUP__TABLES];
};

/* The table's name in the database and in the payload. */
const char *backup_table_name(enum backup_table t);

/* True when backups of this format hold the table. */
bool backup_table_in_format(enum backup_table t, int format);

/* A temporary file in TMPDIR (or /tmp), already unlinked: it vanishes with the process.
 * -1 with a message on error. */
int backup_tmpfile(char *err, size_t errlen);

/* Reads the snapshot and writes the compressed payload into fd (from its current offset);
 * fills m except id and object. Runs and ends its own transaction. Memory stays bounded: rows
 * come through a cursor, a few hundred at a time. */
int backup_dump(struct db *db, int fd, struct backup_manifest *m, char *err, size_t errlen);

/* The manifest as JSON (malloc'd; free with cJSON_free), and back. */
char *backup_manifest_json(const struct backup_manifest *m);
int backup_manifest_parse(const char *json, struct backup_manifest *m, char *err,
    size_t errlen);
/* {"creneaux": N, ...} for backup_metadata.row_counts (malloc'd; free with cJSON_free). */
char *backup_row_counts_json(const struct backup_manifest *m);

/* In the caller's open transaction: creates scratch tables like the live ones (temporary,
 * dropped at the end of the transaction), loads the payload read from fd (from offset 0)
 * into them and checks that each table has the manifest's row count and, read back from the
 * scratch table, the manifest's SHA-256. The live tables must still have the columns the
 * backup was made with. */
int backup_load(struct db *db, int fd, const struct backup_manifest *m, char *err,
    size_t errlen);

struct backup_apply_result {
	long long considered;       /* submissions of the backup (matching --email) */
	long long inserted;         /* absent from the database: put back as they were */
	long long updated;          /* changed since: brought back (a new version, history kept) */
	long long conflicts;        /* left alone: see the report */
	long long campaigns_added;
	long long slots_added;
	long long participants_added;
	long long audit_added;      /* audit rows missing from the database */
	long long audit_collisions; /* backup audit rows whose id now holds another row */
};

/* After backup_load, in the same transaction: brings the submissions of the backup (only
 * those of email when not NULL) back into the live tables, each into its campaign. A submission changed since is
 * updated, so the triggers add a version and keep the replaced content in its history; one
 * absent is inserted with its id, history and dates; each gets an audit row. Without email,
 * missing audit rows, campaigns, slots and participants are added too (in that order: the
 * audit rows the triggers write for them come after the backup's; a participant keeps its
 * token's hash, but not a link to an invitation mail the database no longer has). Conflicts (the e-mail
 * is active in another submission of the campaign) are left alone and listed on report. */
int backup_apply(struct db *db, long long backup_id, const char *email, const char *actor,
    struct backup_apply_result *r, FILE *report, char *err, size_t errlen);

/* Retention: which backups the cleanup keeps. */
struct retention_policy {
	int daily;      /* every backup younger than this many days */
	int weekly;     /* the newest of each of the last N ISO weeks (UTC, Monday first) */
	int monthly;    /* the newest of each of the last N calendar months (UTC) */
	int min;        /* the N newest, whatever their age (at least 1) */
};

#define RETAIN_MIN     0x1u
#define RETAIN_DAILY   0x2u
#define RETAIN_WEEKLY  0x4u
#define RETAIN_MONTHLY 0x8u

struct retention_item {
	long long id;
	long long time;        /* start of the backup, seconds since the epoch */
	unsigned reasons;      /* RETAIN_* set by backup_retention; 0 = to delete */
};

/* Sets the reasons of each item; items must be sorted newest first. The current week and
 * month count as the first of the last N. */
void backup_retention(const struct retention_policy *p, long long now,
    struct retention_item *items, size_t n);

/* Seconds elapsed on CLOCK_MONOTONIC since start: the duration a job prints in its summary. */
double backup_seconds_since(const struct timespec *start);

#endif
