/* campaign.h — the organiser's campaigns (sql/0014): the request bodies checked
 * member by member, the representations the admin API answers, and the one way an admin
 * write starts (the administrator named for the audit triggers).
 *
 * Times on the wire: answered as ISO 8601 with the offset of the campaign's zone
 * ("2026-03-30T09:00:00+02:00"); accepted the same way, with "Z", or as a local time of the
 * campaign's zone ("2026-03-30T09:00", seconds allowed), which PostgreSQL converts.
 *
 * Slot ids: "c<campaign id>-<10 hex digits>" (random, made by the database): a slot id is
 * global (creneaux.id), never reused, and says which campaign it was made in. */
#ifndef FIABLE_CAMPAIGN_H
#define FIABLE_CAMPAIGN_H

#include <stdbool.h>

#include <cjson/cJSON.h>

#include "db.h"
#include "http.h"
#include "slot.h"

#define CAMPAIGN_TITLE_MAX_CHARS  200    /* campagnes.titre CHECK */
#define CAMPAIGN_INTRO_MAX_CHARS  10000  /* campagnes.introduction CHECK */
#define CAMPAIGN_GRACE_MAX_MIN    43200  /* 30 days: campagnes.delai_grace CHECK */
#define CAMPAIGN_SHIFT_MAX_WEEKS  104
#define CAMPAIGN_MATRIX_LIMIT_MAX 500
#define CAMPAIGN_MATRIX_LIMIT_DEF 200

/* The editable members of a campaign, pointing into the parsed request (or into a result
 * for a PUT's absent members): NULL for an absent (or null) value. */
struct campaign_fields {
	const char *slug, *titre, *introduction, *fuseau;
	const char *ouverture, *fermeture, *modification_jusqu_a, *etat;
	int grace_minutes;
	/* members present in the request (a PUT keeps the others as they are) */
	bool has_slug, has_titre, has_introduction, has_fuseau, has_ouverture, has_fermeture,
	    has_grace, has_modification, has_etat;
};

/* Checks a POST or PUT body (unknown members refused; slug and titre required by a POST).
 * Returns the number of faulty members, each with its French message in errors. */
int campaign_parse(const cJSON *root, bool create, struct campaign_fields *f, cJSON *errors);

/* True when s is an accepted request time (ISO 8601, with an offset or local). */
bool campaign_time_valid(const char *s);

/* True when name is a zone PostgreSQL knows (checked as slot.h's IANA name first). -1 on a
 * database failure. */
int campaign_zone_known(struct db *db, const char *name);

/* BEGIN, then the administrator for the audit triggers: actor "admin:<REMOTE_USER>", the
 * client's address, user agent and request id. False (rolled back) on failure. */
bool campaign_tx_begin(struct db *db, const struct http_request *req);

/* {"campagnes":[...]} of the contract, or NULL on a database failure. */
cJSON *campaign_list_json(struct db *db);
/* One campaign as a JSON object from row 0 of a campaign_get/lock result (no slots). */
cJSON *campaign_row_json(const PGresult *res);
/* The campaign with its slots; NULL with *found false when there is none, NULL with *found
 * true on a database failure. *version receives its version. */
cJSON *campaign_load_json(struct db *db, const char *id, bool *found, long *version);
/* Moves the counts per slot written since the last call into their table (sql/0021), so
 * that reading them stays short; outside a transaction. Best effort: a failure is logged,
 * the counts stay exact either way. Safe to repeat (its own transaction each time). */
void slot_counts_compact(struct db *db);
/* Slots of a campaign_slots (or slot) result as a JSON array; with_counts adds retire and
 * disponibles. */
cJSON *campaign_slots_json(const PGresult *res, bool with_counts);

/* The ETag line of version: "ETag: \"vN\"\r\n". */
void campaign_etag(long version, char *out, size_t cap);

/* One slot of a request body {debut, fin, libelle?, besoin?}, checked and converted to UTC
 * in zone tz (the rule of slot.h for daylight-saving gaps), appended to out. Returns the
 * number of faults (in errors), or -1 on a database failure. */
int campaign_slot_parse(struct db *db, const cJSON *root, const char *tz,
    struct slot_list *out, cJSON *errors);
/* The slots of l as the jsonb of campaign_slots_insert; positions (NULL: after the last)
 * one per slot. NULL when out of memory. */
char *campaign_slots_payload(const struct slot_list *l, const int *positions);
/* Inserts the slots of l into campaign id; the slots created as a JSON array, or NULL on
 * failure (the transaction is then for the caller to roll back). */
cJSON *campaign_slots_insert(struct db *db, const char *id, const struct slot_list *l,
    const int *positions);
/* Copies the slots still on the form of campaign from into campaign to, N weeks later on
 * the local clock; a default label follows the new date. How many, or -1 on failure. */
int campaign_slots_duplicate(struct db *db, const char *from, const char *to, int weeks);

#endif
