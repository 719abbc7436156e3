#include "outbox.h"

#include <errno.h>
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

static const char *const kind_names[] = {
	[MAIL_RECEIPT] = "receipt",
	[MAIL_EDIT_LINK] = "edit_link",
};

bool
outbox_enqueue(struct db *db, enum mail_kind kind, const char *to, const char *subject,
    const char *body, const char *submission_id, long long *id)
{
	const char *params[5];
	PGresult *res;
	char *end;
	long long v;
	bool ok = false;

	if ((unsigned)kind >= sizeof(kind_names) / sizeof(kind_names[0]))
		return false;
	params[0] = kind_names[kind];
	params[1] = to;
	params[2] = subject;
	params[3] = body;
	params[4] = submission_id;
	res = db_exec(db, STMT_OUTBOX_ENQUEUE, params);
	if (!db_ok(res) || PQntuples(res) != 1)
		goto fail;
	errno = 0;
	v = strtoll(PQgetvalue(res, 0, 0), &end, 10);
	if (errno != 0 || *end != '\0' || v <= 0) {
		log_warn("%s: identifiant inattendu", __func__);
		goto fail;
	}
	if (id != NULL)
		*id = v;
	ok = true;
fail:
	PQclear(res);
	return ok;
}

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
	const char *params[3], *id;
	PGresult *due = NULL, *upd = NULL;
	long attempts;
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
	id = PQgetvalue(due, 0, 0);
	attempts = strtol(PQgetvalue(due, 0, 4), NULL, 10);
	if (PQgetisnull(due, 0, 3)) {
		rc = -1;
		snprintf(err, sizeof(err), "corps du message absent");
	} else {
		rc = mail_send(cfg, PQgetvalue(due, 0, 1), PQgetvalue(due, 0, 2),
		    PQgetvalue(due, 0, 3), &transient, err, sizeof(err));
	}

	params[0] = id;
	if (rc == 0) {
		upd = db_exec(db, STMT_OUTBOX_SENT, params);
		counts->sent++;
	} else if (transient && attempts + 1 < OUTBOX_MAX_ATTEMPTS) {
		snprintf(delay, sizeof(delay), "%ld", retry_delay(attempts));
		params[1] = err;
		params[2] = delay;
		upd = db_exec(db, STMT_OUTBOX_RETRY, params);
		counts->retried++;
		log_warn("%s: message %s non envoyé (tentative %ld), nouvel essai dans %s s : %s",
		    __func__, id, attempts + 1, delay, err);
	} else {
		params[1] = err;
		upd = db_exec(db, STMT_OUTBOX_GIVE_UP, params);
		counts->failed++;
		log_error("%s: message %s abandonné après %ld tentative(s) : %s", __func__, id,
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

int
outbox_due_count(struct db *db, int max)
{
	char limit[16];
	const char *params[1] = { limit };
	PGresult *res;
	int n = -1;

	snprintf(limit, sizeof(limit), "%d", max);
	res = db_query(db, STMT_OUTBOX_DUE_COUNT, params);
	if (db_ok(res))
		n = (int)strtol(PQgetvalue(res, 0, 0), NULL, 10);
	PQclear(res);
	return n;
}

/* Writes s with every control character as a space: a name cannot add lines (a forged
 * link) to the message. */
static void
put_text(FILE *f, const char *s)
{
	for (; *s != '\0'; s++) {
		unsigned char c = (unsigned char)*s;
		fputc(c < 0x20 || c == 0x7f ? ' ' : c, f);
	}
}

/* Writes PUBLIC_URL/#edit=TOKEN: the token is in the fragment, which browsers never send,
 * so it stays out of every server log. */
static int
put_link(FILE *f, const struct config *cfg, const char *token)
{
	size_t len = strlen(cfg->public_url);

	if (token[0] == '\0' || strspn(token, "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
	    "abcdefghijklmnopqrstuvwxyz0123456789-_") != strlen(token))
		return -1;
	while (len > 0 && cfg->public_url[len - 1] == '/')
		len--;
	fprintf(f, "  %.*s/#edit=%s\n", (int)len, cfg->public_url, token);
	return 0;
}

static void
put_greeting(FILE *f, const char *nom)
{
	if (nom != NULL && nom[0] != '\0') {
		fputs("Bonjour ", f);
		put_text(f, nom);
		fputs(",\n\n", f);
	} else {
		fputs("Bonjour,\n\n", f);
	}
}

static const char signature[] =
    "\n"
    "Ce message vous est envoyé automatiquement ; merci de ne pas y répondre.\n";

/* Finishes a message written into f (open_memstream on *buf): *subject and *body are
 * malloc'd, or -1. */
static int
message_finish(FILE *f, char **buf, int rc, const char *subject_text, char **subject,
    char **body)
{
	/* *buf is only set by fclose. */
	if (fclose(f) != 0 || rc != 0 || *buf == NULL ||
	    (*subject = strdup(subject_text)) == NULL) {
		free(*buf);
		return -1;
	}
	*body = *buf;
	return 0;
}

int
message_receipt(const struct config *cfg, const char *nom, const char *const *creneaux,
    size_t ncreneaux, const char *token, char **subject, char **body)
{
	char *buf = NULL;
	size_t len, i;
	FILE *f;
	int rc;

	*subject = *body = NULL;
	if ((f = open_memstream(&buf, &len)) == NULL)
		return -1;
	put_greeting(f, nom);
	if (ncreneaux == 0) {
		fputs("Nous avons bien enregistré votre réponse, sans aucun créneau choisi.\n", f);
	} else {
		fputs("Nous avons bien enregistré votre réponse. Vous avez choisi les créneaux\n"
		    "suivants :\n\n", f);
		for (i = 0; i < ncreneaux; i++) {
			fputs("  - ", f);
			put_text(f, creneaux[i]);
			fputc('\n', f);
		}
	}
	if (token == NULL) {
		/* Feature flag "email_links" off: no link in the message at all. */
		rc = 0;
		fputs("\nSi vous n'êtes pas à l'origine de cette réponse, signalez-le à\n"
		    "l'administration.\n", f);
	} else {
		fputs("\nPour modifier ou retirer votre réponse, ouvrez ce lien :\n\n", f);
		rc = put_link(f, cfg, token);
		fputs("\nCe lien est personnel : ne le transmettez à personne, car il permet de "
		    "modifier\nvotre réponse. Si vous demandez un nouveau lien depuis le formulaire, "
		    "celui-ci\ncessera de fonctionner : seul le dernier lien reçu reste valable.\n"
		    "\n"
		    "Si vous n'êtes pas à l'origine de cette réponse, ouvrez le lien ci-dessus pour\n"
		    "la retirer.\n", f);
	}
	fputs(signature, f);
	return message_finish(f, &buf, rc, "Votre réponse est enregistrée", subject, body);
}

int
message_edit_link(const struct config *cfg, const char *nom, const char *token,
    char **subject, char **body)
{
	char *buf = NULL;
	size_t len;
	FILE *f;
	int rc;

	*subject = *body = NULL;
	if ((f = open_memstream(&buf, &len)) == NULL)
		return -1;
	put_greeting(f, nom);
	fputs("Vous avez demandé un lien pour modifier votre réponse. Le voici :\n\n", f);
	rc = put_link(f, cfg, token);
	fputs("\nCe lien est personnel : ne le transmettez à personne, car il permet de modifier\n"
	    "votre réponse. Les liens reçus précédemment ne fonctionnent plus : seul celui-ci\n"
	    "reste valable, jusqu'à ce que vous en demandiez un nouveau.\n"
	    "\n"
	    "Si vous n'avez pas fait cette demande, vous pouvez ignorer ce message : votre\n"
	    "réponse n'a pas changé.\n", f);
	fputs(signature, f);
	return message_finish(f, &buf, rc, "Votre lien pour modifier votre réponse", subject,
	    body);
}
