/* outbox.h — the mail outbox (table mail_outbox): a message is queued in the same transaction
 * as the change it reports, then delivered after the answer is sent; failures are retried
 * with backoff by cron/fiable-mail-outbox and counted, never lost silently, and never make
 * the request that queued them fail. The body (which may hold an edit link) is erased once
 * the message is sent or given up. */
#ifndef FIABLE_OUTBOX_H
#define FIABLE_OUTBOX_H

#include <stdbool.h>

#include "config.h"
#include "db.h"

enum mail_kind {
	MAIL_RECEIPT,     /* confirmation of a first submission, with the edit link */
	MAIL_EDIT_LINK,   /* a new edit link, asked for with POST /api/modify/link */
	MAIL_INVITATION,  /* a participant's invitation, with the personal link (sql/0018) */
	MAIL_REMINDER     /* a reminder to a participant who has not answered (sql/0022) */
};

/* Queues a message in the current transaction; *id receives its id (may be NULL). */
bool outbox_enqueue(struct db *db, enum mail_kind kind, const char *to, const char *subject,
    const char *body, const char *submission_id, long long *id);

/* Same, with extra header lines (headers: "Name: value" lines separated by \n, checked again
 * by mail.c when the message is composed; NULL for none) and no submission. */
bool outbox_enqueue_headers(struct db *db, enum mail_kind kind, const char *to,
    const char *subject, const char *body, const char *headers, long long *id);

/* Delivers due messages (only message `only_id` when > 0), at most max of them, outside any
 * transaction. Returns how many were sent, or -1 on a database error. */
int outbox_deliver(struct db *db, const struct config *cfg, long long only_id, int max);

/* What deliveries did, for the summary of cron/fiable-mail-outbox. */
struct outbox_counts {
	int sent;       /* delivered */
	int retried;    /* failed for now: tried again later */
	int failed;     /* given up: refused for good, or too many attempts */
};

/* outbox_deliver, adding what happened to *counts. */
int outbox_deliver_counted(struct db *db, const struct config *cfg, long long only_id,
    int max, struct outbox_counts *counts);

/* How many pending messages are due now (counting at most max), or -1 on a database
 * error. */
int outbox_due_count(struct db *db, int max);

/* The French texts. Each returns 0 and malloc'd *subject and *body, or -1. The link is
 * PUBLIC_URL/#edit=TOKEN: in the fragment, so it never reaches a server log. A receipt with
 * a NULL token has no link (feature flag "email_links" off). */
int message_receipt(const struct config *cfg, const char *nom, const char *const *creneaux,
    size_t ncreneaux, const char *token, char **subject, char **body);
/* The receipt of an answer to a campaign: names its title; the link is that of its page,
 * PUBLIC_URL/c/SLUG/#edit=TOKEN, or PUBLIC_URL/#edit=TOKEN with slug NULL (the first
 * campaign: the links of before campaigns, which / keeps opening). */
int message_receipt_campaign(const struct config *cfg, const char *titre, const char *slug,
    const char *nom, const char *const *creneaux, size_t ncreneaux, const char *token,
    char **subject, char **body);
/* The link asked for with POST /api/modify/link, to the answer to campaign titre; its link
 * as a receipt's (slug NULL: the first campaign's /#edit=). */
int message_edit_link(const struct config *cfg, const char *titre, const char *slug,
    const char *nom, const char *token, char **subject, char **body);

/* An invitation to campaign titre: the personal link PUBLIC_URL/c/SLUG/#invitation=TOKEN
 * (in the fragment: never in a server log), which opens the form filled in. */
int message_invitation(const struct config *cfg, const char *titre, const char *slug,
    const char *nom, const char *token, char **subject, char **body);

/* A reminder to answer campaign titre (closing ferme_le, local time as text, or NULL): the
 * personal link PUBLIC_URL/c/SLUG/#invitation=TOKEN again, said to be the invitation's own
 * (same_link) or one that replaces it. */
int message_reminder(const struct config *cfg, const char *titre, const char *slug,
    const char *nom, const char *ferme_le, const char *token, bool same_link,
    char **subject, char **body);

#endif
