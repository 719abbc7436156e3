/* outbox_deliver.c — delivery of the queued messages (mail_outbox), by fiable-mail-outbox:
 * apart from outbox.c (queueing, in the requests' transactions) so that the FastCGI programs
 * do not link the SMTP client (smtp.c, libcurl). */
#include "outbox.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crypto.h"
#include "log.h"
#include "mail.h"

/* Ten attempts spaced 1, 2, 4 ... 256 min apart: about eight and a half hours. */
#define OUTBOX_MAX_ATTEMPTS 10
#define OUTBOX_BASE_DELAY 60L
#define OUTBOX_MAX_DELAY (6L * 3600)

/* Seconds before the next attempt after `attempts` failed ones: doubling from one minute
 * up to six hours, plus up to 10% of jitter so that messages that failed together (a
 * server outage) are not all retried in the same second. */
static long
retry_delay(long attempts)
{
	unsigned char r[2];
	long d = OUTBOX_BASE_DELAY, i;

	for (i = 0; i < attempts && d < OUTBOX_MAX_DELAY; i++)
		d *= 2;
	if (d > OUTBOX_MAX_DELAY)
		d = OUTBOX_MAX_DELAY;
	if (random_bytes(r, sizeof(r)) == 0)
		d += (long)(r[0] << 8 | r[1]) % (d / 10 + 1);
	return d;
}

/* Delivers the first due message (only_id when > 0) in its own transaction, so that a
 * connection lost after the SMTP exchange re-sends at most this one message later.
 * Returns 1 when a message was handled, 0 when none is due, -1 on a database error. */
static int
deliver_one(struct db *db, const struct config *cfg, long long only_id,
    struct outbox_counts *counts)
{
	char idbuf[24], delay[24], err[512];
	const char *params[3], *id, *body;
	PGresult *due = NULL, *upd = NULL;
	long long attempts;
	bool transient = false;
	int rc;

	snprintf(idbuf, sizeof(idbuf), "%lld", only_id > 0 ? only_id : 0LL);
	params[0] = idbuf;
	params[1] = "1";
	if (!db_begin(db))
		return -1;
	due = db_exec(db, STMT_OUTBOX_DUE, params);
	if (!db_ok(due))
		goto fail;
	if (PQntuples(due) == 0) {
		PQclear(due);
		db_rollback(db);
		return 0;
	}
	if ((id = db_text(due, 0, "id")) == NULL ||
	    !db_int(due, 0, "attempts", 0, INT_MAX, &attempts))
		goto fail;
	if ((body = db_text(due, 0, "body")) == NULL) {
		rc = -1;
		snprintf(err, sizeof(err), "corps du message absent");
	} else {
		rc = mail_send_headers(cfg, db_text_or(due, 0, "recipient", ""),
		    db_text_or(due, 0, "subject", ""), body, db_text(due, 0, "headers"),
		    &transient, err, sizeof(err));
	}

	params[0] = id;
	if (rc == 0) {
		upd = db_exec(db, STMT_OUTBOX_SENT, params);
		counts->sent++;
	} else if (transient && attempts + 1 < OUTBOX_MAX_ATTEMPTS) {
		snprintf(delay, sizeof(delay), "%ld", retry_delay((long)attempts));
		params[1] = err;
		params[2] = delay;
		upd = db_exec(db, STMT_OUTBOX_RETRY, params);
		counts->retried++;
		log_warn("%s: message %s non envoyé (tentative %lld), nouvel essai dans %s s : %s",
		    __func__, id, attempts + 1, delay, err);
	} else {
		params[1] = err;
		upd = db_exec(db, STMT_OUTBOX_GIVE_UP, params);
		counts->failed++;
		log_error("%s: message %s abandonné après %lld tentative(s) : %s", __func__, id,
		    attempts + 1, err);
	}
	if (!db_ok(upd) || !db_commit(db))
		goto fail;
	PQclear(upd);
	PQclear(due);
	return 1;
fail:
	log_warn("%s: file d'envoi : %s", __func__, db_error(db));
	db_rollback(db);
	PQclear(upd);
	PQclear(due);
	return -1;
}

int
outbox_deliver_counted(struct db *db, const struct config *cfg, long long only_id, int max,
    struct outbox_counts *counts)
{
	int i, r, sent = counts->sent;

	/* Without a way to send, the messages stay pending until mail is configured. */
	if (!mail_configured(cfg))
		return 0;
	for (i = 0; i < max; i++) {
		if ((r = deliver_one(db, cfg, only_id, counts)) < 0)
			return -1;
		if (r == 0)
			break;
	}
	return counts->sent - sent;
}

int
outbox_deliver(struct db *db, const struct config *cfg, long long only_id, int max)
{
	struct outbox_counts counts = { 0, 0, 0 };

	return outbox_deliver_counted(db, cfg, only_id, max, &counts);
}
