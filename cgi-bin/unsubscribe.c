/* unsubscribe.c — for fiable-form (form.c): no more reminders of one campaign, from the
 * List-Unsubscribe address of a participant's mails, /api/desinscription?p=P&s=SIG (SIG: the
 * HMAC of participant P, participants.h: it can do this and nothing else).
 *   GET   a French page (the link opened from a mail client, in a browser): what will
 *         happen, and a button that posts the same address (a plain HTML form: no script,
 *         within the CSP of nginx's form-action 'self'); already unsubscribed, it says so.
 *   POST  unsubscribes at once: the one click of RFC 8058 (List-Unsubscribe=One-Click,
 *         posted by a mail client without logging in) and the page's button alike. 200,
 *         also when already unsubscribed: JSON {message, campagne}, or (a browser, whose
 *         Accept names text/html) the confirmation page. 403 invitation_invalide for a bad
 *         signature (an HTML page for a browser). */
#include <stdio.h>
#include <string.h>

#include "buf.h"
#include "crypto.h"
#include "participants.h"
#include "respond.h"

void handle_unsubscribe_page(struct call *call);
void handle_unsubscribe(struct call *call);

/* The text of s, escaped for HTML (element content and double-quoted attributes). */
static void
add_html(struct buf *b, const char *s)
{
	for (; *s != '\0'; s++) {
		switch (*s) {
		case '&': buf_adds(b, "&amp;"); break;
		case '<': buf_adds(b, "&lt;"); break;
		case '>': buf_adds(b, "&gt;"); break;
		case '"': buf_adds(b, "&quot;"); break;
		case '\'': buf_adds(b, "&#39;"); break;
		default: buf_add(b, s, 1); break;
		}
	}
}

/* Sends a whole page: its title (h1) and its body, already HTML. */
static void
send_page(struct call *call, int status, const char *title, const char *body)
{
	struct buf b = BUF_INIT;

	buf_adds(&b, "<!doctype html>\n<html lang=\"fr\">\n<head>\n<meta charset=\"utf-8\">\n"
	    "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n<title>");
	add_html(&b, title);
	buf_adds(&b, "</title>\n<link rel=\"icon\" href=\"/icone.svg\" type=\"image/svg+xml\">\n"
	    "<link rel=\"stylesheet\" href=\"/commun/commun.css\">\n"
	    "<link rel=\"stylesheet\" href=\"/style.css\">\n</head>\n<body>\n<main>\n<h1>");
	add_html(&b, title);
	buf_adds(&b, "</h1>\n");
	buf_adds(&b, body);
	buf_adds(&b, "</main>\n</body>\n</html>\n");
	if (b.failed) {
		respond_error(call, ERR_INTERNAL);
	} else {
		http_send(call->fcgi->out, status, "text/html; charset=utf-8",
		    "Cache-Control: no-store\r\n", b.p, b.len);
		respond_record(call, status);
	}
	buf_free(&b);
}

/* The campaign's title in a sentence: « Titre » (html: escaped, in an element the tests
 * find), or "cette campagne" when unknown. */
static void
add_campaign(struct buf *b, const char *titre, bool html)
{
	if (titre == NULL || titre[0] == '\0') {
		buf_adds(b, "cette campagne");
		return;
	}
	buf_adds(b, html ? "la campagne « <strong id=\"campagne\">" : "la campagne « ");
	if (html)
		add_html(b, titre);
	else
		buf_adds(b, titre);
	buf_adds(b, html ? "</strong> »" : " »");
}

static bool
wants_html(struct call *call)
{
	const char *accept = FCGX_GetParam("HTTP_ACCEPT", call->fcgi->envp);

	return accept != NULL && strstr(accept, "text/html") != NULL;
}

static void
refuse(struct call *call, bool html)
{
	if (!html) {
		respond_error(call, ERR_INVITATION_INVALID);
		return;
	}
	send_page(call, 403, "Lien non valable", "<section class=\"carte alerte\">\n<p>Ce lien "
	    "de désinscription n’est pas valable : ouvrez-le tel qu’il figure dans le courriel "
	    "reçu, sans le modifier. Aucune préférence n’a été changée.</p>\n</section>\n");
}

/* The participant id and signature of the query, checked: true with pid and sig filled. */
static bool
signed_participant(struct call *call, char pid[24], char sig[TOKEN_STR_LEN + 1])
{
	char want[TOKEN_STR_LEN];
	const char *q = call->req->query_string;
	size_t n;

	if (q == NULL || !http_query_value(q, "p", pid, 24) ||
	    !http_query_value(q, "s", sig, TOKEN_STR_LEN + 1) ||
	    (n = strspn(pid, "0123456789")) == 0 || n > 18 || pid[n] != '\0' ||
	    strlen(sig) != TOKEN_STR_LEN - 1)
		return false;
	unsubscribe_signature(call->cfg, pid, want);
	return equal_ct((const unsigned char *)want, (const unsigned char *)sig,
	    TOKEN_STR_LEN - 1);
}

void
handle_unsubscribe_page(struct call *call)
{
	char pid[24], sig[TOKEN_STR_LEN + 1];
	const char *params[1] = { pid };
	struct buf b = BUF_INIT;
	PGresult *res;
	bool done;

	if (!signed_participant(call, pid, sig)) {
		refuse(call, true);
		return;
	}
	res = db_query(call->db, STMT_PARTICIPANT_UNSUBSCRIBE_PAGE, params);
	if (!db_ok(res)) {
		PQclear(res);
		respond_db_failure(call);
		return;
	}
	done = PQntuples(res) == 1 && db_bool(res, 0, "desinscrit");
	buf_adds(&b, "<section class=\"carte\" id=\"desinscription\">\n<p>");
	if (done) {
		buf_adds(&b, "Vous êtes déjà désinscrit(e) des relances de ");
		add_campaign(&b, PQntuples(res) == 1 ? db_text(res, 0, "titre") : NULL, true);
		buf_adds(&b, ". Vous pouvez toujours y répondre avec le lien de votre invitation."
		    "</p>\n");
	} else {
		buf_adds(&b, "Vous ne recevrez plus les relances (les rappels envoyés à ceux qui "
		    "n’ont pas encore répondu) de ");
		add_campaign(&b, PQntuples(res) == 1 ? db_text(res, 0, "titre") : NULL, true);
		/* The address posted is this one: p and s are digits and base64url (checked). */
		buf_printf(&b, ". Votre invitation reste valable : vous pourrez toujours répondre "
		    "ou modifier votre réponse avec son lien.</p>\n<form method=\"post\" "
		    "action=\"/api/desinscription?p=%s&amp;s=%s\">\n<input type=\"hidden\" "
		    "name=\"List-Unsubscribe\" value=\"One-Click\">\n<p class=\"actions\">"
		    "<button type=\"submit\" id=\"confirmer\">Ne plus recevoir les relances</button>"
		    "</p>\n</form>\n", pid, sig);
	}
	buf_adds(&b, "</section>\n");
	PQclear(res);
	if (b.failed)
		respond_error(call, ERR_INTERNAL);
	else
		send_page(call, 200, "Relances de la campagne", b.p);
	buf_free(&b);
}

void
handle_unsubscribe(struct call *call)
{
	char pid[24], sig[TOKEN_STR_LEN + 1];
	const char *params[1] = { pid };
	bool html = wants_html(call);
	struct buf b = BUF_INIT;
	const char *titre;
	PGresult *res;
	cJSON *o;

	if (!signed_participant(call, pid, sig)) {
		refuse(call, html);
		return;
	}
	/* db_query: one fresh try when the connection died while idle (the update is idempotent). */
	res = db_query(call->db, STMT_PARTICIPANT_UNSUBSCRIBE, params);
	if (!db_ok(res)) {
		PQclear(res);
		respond_db_failure(call);
		return;
	}
	titre = PQntuples(res) == 1 ? db_text(res, 0, "titre") : NULL;
	/* The confirmation: a page for a browser, JSON for a mail client. */
	buf_adds(&b, html ? "<section class=\"carte succes\" id=\"confirmation\" role=\"status\">"
	    "\n<p>" : "");
	buf_adds(&b, "Vous ne recevrez plus les relances de ");
	add_campaign(&b, titre, html);
	buf_adds(&b, ". Vous pouvez toujours y répondre avec le lien de votre invitation.");
	buf_adds(&b, html ? "</p>\n</section>\n" : "");
	if (b.failed) {
		respond_error(call, ERR_INTERNAL);
	} else if (html) {
		send_page(call, 200, "Désinscription enregistrée", b.p);
	} else {
		o = cJSON_CreateObject();
		cJSON_AddStringToObject(o, "message", b.p);
		cJSON_AddStringToObject(o, "campagne", titre != NULL ? titre : "");
		respond_json(call, 200, "Cache-Control: no-store\r\n", o);
		cJSON_Delete(o);
	}
	PQclear(res);
	buf_free(&b);
}
