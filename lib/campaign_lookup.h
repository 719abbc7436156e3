/* campaign_lookup.h — the campaign a person's request is about (sql/0014): its slug as
 * the outside world writes it, and the checks an answer's transaction makes on it. */
#ifndef FIABLE_CAMPAIGN_LOOKUP_H
#define FIABLE_CAMPAIGN_LOOKUP_H

#include <stdbool.h>

#include "db.h"
#include "http.h"

/* Longest slug (sql/0014: 1 to 64 characters) and its buffer. */
#define CAMPAIGN_SLUG_MAX 64
#define CAMPAIGN_SLUG_BUF (CAMPAIGN_SLUG_MAX + 1)

/* True when s has the shape sql/0014 allows: lowercase letters, digits and hyphens, 1 to
 * 64, no hyphen at either end. Checked before any query. */
bool campaign_slug_valid(const char *s);

/* What an answer's transaction knows of its campaign. */
struct campaign_answer {
	char id[24];
	char slug[CAMPAIGN_SLUG_BUF];
	char titre[256 * 4];
	bool first;                  /* the first campaign (old edit links /#edit=) */
	bool late;                   /* phase 'retard': the answer will be flagged en_retard */
	bool invited_only;           /* acces 'invites' (sql/0018): an invitation token needed */
	enum api_error refusal;      /* ERR_NONE, or ERR_CAMPAIGN_NOT_OPEN / ERR_CAMPAIGN_CLOSED */
	char detail[400];            /* the refusal's French detail, naming the date */
};

enum campaign_lookup {
	CAMPAIGN_FOUND,
	CAMPAIGN_ABSENT,
	CAMPAIGN_FAILED              /* database error; see db_lost() */
};

/* In the current transaction: the campaign of slug ("" = the first) locked FOR SHARE, its
 * phase now (the one the insert's trigger will see) and, outside its phase, the refusal. */
enum campaign_lookup campaign_for_answer(struct db *db, const char *slug,
    struct campaign_answer *out);

/* Outside a transaction: the id of the campaign of slug ("" = the first) into id[24]. */
enum campaign_lookup campaign_id_of(struct db *db, const char *slug, char id[24]);

/* The campaign of the answer whose edit token has this SHA-256 (hex) into id[24]; false when
 * none, or on error (the change that follows answers it). */
bool campaign_of_token(struct db *db, const char *token_hash, char id[24]);

#endif
