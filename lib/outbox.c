#include "outbox.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crypto.h"
#include "log.h"
#include "mail.h"

static const char *const kind_names[] = {
	[MAIL_RECEIPT] = "receipt",
	[MAIL_EDIT_LINK] = "edit_link",
	[MAIL_INVITATION] = "invitation",
	[MAIL_REMINDER] = "relance",
};

/* One message into the outbox, announced to the mail sender at commit. */
static bool
enqueue(struct db *db, enum mail_kind kind, const char *to, const char *subject,
    const char *body, const char *submission_id, const char *headers, long long *id)
{
	const char *params[6];
	PGresult *res;
	long long v;
	bool ok = false;

	if ((unsigned)kind >= sizeof(kind_names) / sizeof(kind_names[0]))
		return false;
	params[0] = kind_names[kind];
	params[1] = to;
	params[2] = subject;
	params[3] = body;
	params[4] = submission_id;
	params[5] = headers;
	res = db_exec(db, STMT_OUTBOX_ENQUEUE, params);
	if (db_ok(res) && PQntuples(res) == 1) {
		if (db_int(res, 0, "id", 1, LLONG_MAX, &v)) {
			if (id != NULL)
				*id = v;
			ok = true;
		} else {
			log_warn("%s: identifiant inattendu", __func__);
		}
	}
	PQclear(res);
	return ok;
}

bool
outbox_enqueue(struct db *db, enum mail_kind kind, const char *to, const char *subject,
    const char *body, const char *submission_id, long long *id)
{
	return enqueue(db, kind, to, subject, body, submission_id, NULL, id);
}

bool
outbox_enqueue_headers(struct db *db, enum mail_kind kind, const char *to, const char *subject,
    const char *body, const char *headers, long long *id)
{
	return enqueue(db, kind, to, subject, body, NULL, headers, id);
}

int
outbox_due_count(struct db *db, int max)
{
	return db_count_at_most(db, STMT_OUTBOX_DUE_COUNT, "due_count", max);
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

/* Writes PUBLIC_URL/#KEY=TOKEN, or PUBLIC_URL/c/SLUG/#KEY=TOKEN for a campaign's own page
 * (slug non-NULL), key "edit" or "invitation": the token is in the fragment, which browsers
 * never send, so it stays out of every server log. */
static int
put_campaign_link(FILE *f, const struct config *cfg, const char *slug, const char *key,
    const char *token)
{
	size_t len = strlen(cfg->public_url);

	if (token[0] == '\0' || strspn(token, "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
	    "abcdefghijklmnopqrstuvwxyz0123456789-_") != strlen(token))
		return -1;
	if (slug != NULL && (slug[0] == '\0' ||
	    strspn(slug, "abcdefghijklmnopqrstuvwxyz0123456789-") != strlen(slug)))
		return -1;
	while (len > 0 && cfg->public_url[len - 1] == '/')
		len--;
	if (slug != NULL)
		fprintf(f, "  %.*s/c/%s/#%s=%s\n", (int)len, cfg->public_url, slug, key, token);
	else
		fprintf(f, "  %.*s/#%s=%s\n", (int)len, cfg->public_url, key, token);
	return 0;
}

/* " à « TITRE »" after "votre réponse", or nothing without a title. */
static void
put_title(FILE *f, const char *titre)
{
	if (titre != NULL && titre[0] != '\0') {
		fputs(" à « ", f);
		put_text(f, titre);
		fputs(" »", f);
	}
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
	return message_receipt_campaign(cfg, NULL, NULL, nom, creneaux, ncreneaux, token,
	    subject, body);
}

int
message_receipt_campaign(const struct config *cfg, const char *titre, const char *slug,
    const char *nom, const char *const *creneaux, size_t ncreneaux, const char *token,
    char **subject, char **body)
{
	char *buf = NULL;
	size_t len, i;
	FILE *f;
	int rc;

	*subject = *body = NULL;
	if ((f = open_memstream(&buf, &len)) == NULL)
		return -1;
	put_greeting(f, nom);
	fputs("Nous avons bien enregistré votre réponse", f);
	put_title(f, titre);
	if (ncreneaux == 0) {
		fputs(", sans aucun créneau choisi.\n", f);
	} else {
		fputs(".\nVous avez choisi les créneaux suivants :\n\n", f);
		for (i = 0; i < ncreneaux; i++) {
			fputs("  - ", f);
			put_text(f, creneaux[i]);
			fputc('\n', f);
		}
	}
	if (token == NULL) {
		/* Feature flag "email_links" off: no link in the message at all. */
		rc = 0;
		fputs("\nSi vous n’êtes pas à l’origine de cette réponse, signalez-le à\n"
		    "l’administration.\n", f);
	} else {
		fputs("\nPour modifier ou retirer votre réponse, ouvrez ce lien :\n\n", f);
		rc = put_campaign_link(f, cfg, slug, "edit", token);
		fputs("\nCe lien est personnel : ne le transmettez à personne, car il permet de "
		    "modifier\nvotre réponse. Si vous demandez un nouveau lien depuis le formulaire, "
		    "celui-ci\ncessera de fonctionner : seul le dernier lien reçu reste valable.\n"
		    "\n"
		    "Si vous n’êtes pas à l’origine de cette réponse, ouvrez le lien ci-dessus pour\n"
		    "la retirer.\n", f);
	}
	fputs(signature, f);
	return message_finish(f, &buf, rc, "Votre réponse est enregistrée", subject, body);
}

int
message_edit_link(const struct config *cfg, const char *titre, const char *slug,
    const char *nom, const char *token, char **subject, char **body)
{
	char *buf = NULL;
	size_t len;
	FILE *f;
	int rc;

	*subject = *body = NULL;
	if ((f = open_memstream(&buf, &len)) == NULL)
		return -1;
	put_greeting(f, nom);
	fputs("Vous avez demandé un lien pour modifier votre réponse", f);
	put_title(f, titre);
	fputs(". Le voici :\n\n", f);
	rc = put_campaign_link(f, cfg, slug, "edit", token);
	fputs("\nCe lien est personnel : ne le transmettez à personne, car il permet de modifier\n"
	    "votre réponse. Les liens reçus précédemment ne fonctionnent plus : seul celui-ci\n"
	    "reste valable, jusqu’à ce que vous en demandiez un nouveau.\n"
	    "\n"
	    "Si vous n’avez pas fait cette demande, vous pouvez ignorer ce message : votre\n"
	    "réponse n’a pas changé.\n", f);
	fputs(signature, f);
	return message_finish(f, &buf, rc, "Votre lien pour modifier votre réponse", subject,
	    body);
}

int
message_invitation(const struct config *cfg, const char *titre, const char *slug,
    const char *nom, const char *token, char **subject, char **body)
{
	char *buf = NULL, *subj = NULL;
	size_t len = strlen(cfg->public_url), slen;
	FILE *f;
	int rc = -1;

	*subject = *body = NULL;
	if (strspn(token, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_") !=
	    strlen(token) || token[0] == '\0' || slug == NULL || slug[0] == '\0' ||
	    strspn(slug, "abcdefghijklmnopqrstuvwxyz0123456789-") != strlen(slug))
		return -1;
	while (len > 0 && cfg->public_url[len - 1] == '/')
		len--;
	if ((f = open_memstream(&buf, &slen)) == NULL)
		return -1;
	put_greeting(f, nom);
	fputs("Vous êtes invité(e) à indiquer vos disponibilités pour « ", f);
	put_text(f, titre);
	fputs(" ».\n\nOuvrez votre lien personnel : le formulaire s’ouvre à votre nom.\n\n", f);
	fprintf(f, "  %.*s/c/%s/#invitation=%s\n", (int)len, cfg->public_url, slug, token);
	fputs("\nCe lien est personnel : ne le transmettez à personne, car il permet de répondre\n"
	    "en votre nom. Si vous pensez avoir reçu ce message par erreur, ignorez-le.\n", f);
	fputs(signature, f);
	if ((subj = malloc(strlen(titre) + 16)) != NULL) {
		snprintf(subj, strlen(titre) + 16, "Invitation : %s", titre);
		rc = 0;
	}
	rc = message_finish(f, &buf, subj == NULL ? -1 : rc, subj != NULL ? subj : "", subject,
	    body);
	free(subj);
	return rc;
}

int
message_reminder(const struct config *cfg, const char *titre, const char *slug,
    const char *nom, const char *ferme_le, const char *token, bool same_link,
    char **subject, char **body)
{
	char *buf = NULL, *subj = NULL;
	size_t slen;
	FILE *f;
	int rc;

	*subject = *body = NULL;
	if (slug == NULL || (f = open_memstream(&buf, &slen)) == NULL)
		return -1;
	put_greeting(f, nom);
	fputs("Vous n’avez pas encore indiqué vos disponibilités pour « ", f);
	put_text(f, titre);
	fputs(" »", f);
	if (ferme_le != NULL && ferme_le[0] != '\0') {
		fputs(" : les réponses sont attendues jusqu’au ", f);
		put_text(f, ferme_le);
	}
	fputs(".\n\n", f);
	fputs(same_link ? "Votre lien personnel, le même que dans votre invitation :\n\n" :
	    "Votre lien personnel (il remplace celui de votre invitation) :\n\n", f);
	rc = put_campaign_link(f, cfg, slug, "invitation", token);
	fputs("\nCe lien est personnel : ne le transmettez à personne, car il permet de répondre\n"
	    "en votre nom. Pour ne plus recevoir de rappel pour cette campagne, utilisez le lien\n"
	    "« Se désabonner » de votre messagerie.\n", f);
	fputs(signature, f);
	if ((subj = malloc(strlen(titre) + 16)) == NULL)
		rc = -1;
	else
		snprintf(subj, strlen(titre) + 16, "Rappel : %s", titre);
	rc = message_finish(f, &buf, rc, subj != NULL ? subj : "", subject, body);
	free(subj);
	return rc;
}
