/* link_request.h — the requests of POST /api/modify/link (table modify_link_requests, sql/0011).
 *
 * The endpoint does the same work whatever the address: under a lock on the address (and one
 * on the client's), it counts and records the request in one statement, and its commit wakes
 * the mail sender. The sender, fiable-mail-outbox, then resolves each request on its own:
 * for an active answer in the campaign the request names (sql/0017), a new edit token and
 * the link to that campaign's page queued in mail_outbox; otherwise
 * nothing. A request is resolved once, even with several senders (FOR UPDATE SKIP LOCKED),
 * its address erased then; the limit counts a keyed hash of the address, and the rows are
 * deleted when they leave the limit's window (one hour). */
#ifndef FIABLE_LINK_REQUEST_H
#define FIABLE_LINK_REQUEST_H

#include <cjson/cJSON.h>

#include "campaign_lookup.h"
#include "config.h"
#include "db.h"
#include "http.h"
#include "validate.h"

/* Link requests allowed per hour (the window of sql/0011 and of Retry-After), per e-mail
 * address and per client address. */
#define LINK_PER_EMAIL 3 /* whatever campaign each names */
#define LINK_PER_ADDRESS 20

/* What "campagne" of a request that names no campaign there is gets (422), in French. */
#define LINK_CAMPAIGN_UNKNOWN "Cette campagne n'existe pas : vérifiez l'adresse du formulaire."

enum link_body {
	LINK_BODY_OK,
	LINK_BODY_INVALID,        /* a member is faulty or unknown: 400 */
	LINK_BODY_NO_CAMPAIGN,    /* "campagne" names no campaign: 422 */
	LINK_BODY_FAILED,         /* out of memory */
	LINK_BODY_DB_FAILED       /* database error; see db_lost() */
};

/* Reads a request's body {"email", "campagne"?} (outside a transaction): the address
 * trimmed and lower-cased into email, the id of the campaign named by its slug into
 * campaign_id (absent: the first campaign). The faulty members and the unknown ones go
 * into errors, in French. */
enum link_body link_request_read(struct db *db, const cJSON *root,
    char email[EMAIL_MAX_LEN + 1], char campaign_id[24], cJSON *errors);

enum link_record_result {
	LINK_RECORDED,
	LINK_RATE_LIMITED,     /* a limit is reached: nothing written */
	LINK_FAILED            /* database error; see db_lost() */
};

/* In the current transaction: takes the locks of email (lower-cased and valid) and of the
 * client address of req until the end of the transaction, then records the request for the
 * campaign campaign_id (its answer there gets the link) unless a limit is reached; the
 * limits count an address's requests across all campaigns. Its commit notifies the mail
 * sender. */
enum link_record_result link_request_record(struct db *db, const struct config *cfg,
    const struct http_request *req, const char *email, const char *campaign_id);

/* What the resolutions of one pass decided. */
struct link_counts {
	int queued;      /* an active answer: new token, link queued */
	int no_answer;   /* no active answer: nothing sent */
	int disabled;    /* feature flag email_links off since the request: nothing sent */
	int expired;     /* older than the window (the sender was stopped): nothing sent */
};

/* Resolves at most max pending requests, each in its own transaction, adding to *counts,
 * then deletes the resolved requests that left the window. Without a way to send mail the
 * requests stay pending (as the messages do). Returns how many were resolved, or -1 on a
 * database error. */
int link_requests_resolve(struct db *db, const struct config *cfg, int max,
    struct link_counts *counts);

/* Pending requests (counting at most max), or -1 on a database error. */
int link_requests_pending(struct db *db, int max);

#endif
