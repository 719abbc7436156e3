/* roster.h — who is available when, for the administration: GET /api/admin/submissions
 * (JSON: every slot with its count of people, every submission, withdrawn ones included)
 * and /api/admin/submissions.csv (a spreadsheet of the active ones). */
#ifndef FIABLE_ROSTER_H
#define FIABLE_ROSTER_H

#include <stdbool.h>

#include <cjson/cJSON.h>

#include "buf.h"
#include "db.h"

/* A read of the roster: the slots, and a cursor over the submissions inside a read-only
 * snapshot (REPEATABLE READ: the counts and the rows agree), fetched 500 at a time. */
struct roster {
	struct db *db;
	PGresult *slots;        /* STMT_ADMIN_SLOTS */
	bool open;              /* the transaction and its cursor are open */
	long long active;       /* counted by roster_json_rows */
	long long withdrawn;
	bool first;             /* no submission written yet (roster_json_rows) */
};

/* Begins the snapshot, reads the slots (days in time zone tz) and declares the cursor over
 * the submissions: every one (withdrawn ones too) when all, else the active ones by name.
 * False on a database error; call roster_close either way. */
bool roster_open(struct db *db, const char *tz, bool all, struct roster *ro);
/* The next submissions (up to 500; none at the end), or NULL on a database error. The
 * caller PQclears it. */
PGresult *roster_fetch(struct roster *ro);
/* Closes the cursor and ends the snapshot (rolled back when ok is false). */
void roster_close(struct roster *ro, bool ok);

/* The JSON {creneaux: [{id, libelle, debut, fin, jour, titre, disponibles}], soumissions:
 * [...], actives, retirees}, written in three steps: the head (the slots), the rows of each
 * fetch, the tail (the counts of the rows written). */
void roster_json_head(struct roster *ro, struct buf *t);
void roster_json_rows(struct roster *ro, const PGresult *people, struct buf *t);
void roster_json_tail(const struct roster *ro, struct buf *t);

/* UTF-8 with BOM, ";" between fields (what a French spreadsheet expects), CRLF line ends:
 * a row per active person, a column per slot, the count of people per slot at the end.
 * Every field is quoted; a cell a spreadsheet would take for a formula starts with an
 * apostrophe. Written in three steps like the JSON (a cursor over the active ones); check
 * t->failed after each. */
void roster_csv_head(const struct roster *ro, struct buf *t);
void roster_csv_rows(const struct roster *ro, const PGresult *people, struct buf *t);
void roster_csv_tail(const struct roster *ro, struct buf *t);

/* One CSV field (';' before it unless first), always quoted (quotes doubled). A cell a
 * spreadsheet would take for a formula (first character = + - @, tab or CR) starts with an
 * apostrophe instead. */
void roster_csv_field(struct buf *t, const char *v, bool first);
/* The file name of today's export: "disponibilites-YYYY-MM-DD.csv" (UTC). */
void roster_csv_name(char *name, size_t cap);

#endif
