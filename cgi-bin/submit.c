/* fiable-submit — POST /api/submit: a first answer, stored exactly once.
 *
 * Recipe: check method, origin, media type and Idempotency-Key; read the bounded body;
 * validate every field (slots against the catalogue); then in ONE transaction (write_tx.h)
 * claim the key, insert the submission, queue the receipt, record the metric, store the
 * response and append the audit row with the COMMIT. A replay of the key with the same body
 * gets the stored response again, with the edit token recomputed from the key (HMAC), unless
 * the key was once written in clear. The key is a secret like the token: past this recipe's
 * first step only its SHA-256 is used (lookups, audit row, metrics).
 *
 * Campaigns: the optional member "campagne" names the campaign by its slug
 * (absent: the first, so that answers queued by older pages land where they were meant);
 * an unknown one is a 422 on that field. In the transaction the campaign is locked FOR
 * SHARE and its phase read at the transaction's time, the one the insert's trigger sees:
 * outside its phase the answer is refused with a 403 (campagne_pas_ouverte,
 * campagne_fermee) that is stored under the key like a success, so a replay gets the same
 * refusal; within the grace period it is stored with "en_retard": true.
 *
 * Invited-only campaigns (acces 'invites', sql/0018): the optional member "invitation"
 * carries the personal token of the invitation; in the transaction its participant is found
 * by the token's SHA-256 within THAT campaign. No token, a token that invites nobody there
 * (another campaign's included), or a body whose e-mail is not the participant's: 403
 * (invitation_requise, invitation_invalide, invitation_autre_email), nothing stored, the
 * key not claimed. Otherwise the answer is stored under the participant's e-mail and name
 * as the list has them. */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "audit.h"
#include "campaign_lookup.h"
#include "config.h"
#include "crypto.h"
#include "db.h"
#include "flags.h"
#include "http.h"
#include "idempotency.h"
#include "log.h"
#include "mail.h"
#include "outbox.h"
#include "participants.h"
#include "respond.h"
#include "server.h"
#include "submission.h"
#include "write_tx.h"

#include "submit.h"

/* Queues the receipt with the edit link, in the submission's transaction; the mail sender
 * (fiable-mail-outbox --watch) is notified at commit, so nobody waits for the mail server.
 * With the feature flag "email_links" off, the receipt carries no link. */
static bool
queue_receipt(struct call *call, const struct submission *s, const struct campaign_answer *camp,
    const char *id, const char *token)
{
	char *subject = NULL, *text = NULL;
	bool ok;
	int links;

	if (!mail_configured(call->cfg))
		return true;
	if ((links = flag_enabled_in_tx(call->db, "email_links")) < 0)
		return false;
	ok = message_receipt_campaign(call->cfg, camp->titre, camp->first ? NULL : camp->slug,
	    s->name, (const char *const *)s->slots, s->nslots, links ? token : NULL,
	    &subject, &text) == 0 &&
	    outbox_enqueue(call->db, MAIL_RECEIPT, s->email, subject, text, id, NULL);
	free(subject);
	free(text);
	return ok;
}

/* The transaction: ERR_NONE with sb->body (created, or replayed), else the error. */
static enum api_error
store(struct call *call, struct submit *sb)
{
	struct write_tx tx = { .db = call->db, .req = call->req, .endpoint = call->endpoint,
	    .key_hash = sb->key_hash, .fingerprint = sb->payload_hex };
	const struct submission *s = sb->s;
	struct submission invited;
	struct stored_submission st;
	struct audit_entry entry;
	cJSON *json = NULL, *details = NULL;
	enum api_error e;

	if ((e = write_tx_begin(&tx)) != ERR_NONE)
		return e;
	if (tx.replayed) {
		sb->replayed = true;
		sb->exposed = tx.exposed;
		sb->status = tx.status;
		sb->body = tx.body;
		return ERR_NONE;
	}

	switch (campaign_for_answer(call->db, sb->slug, &sb->camp)) {
	case CAMPAIGN_FOUND:
		break;
	case CAMPAIGN_ABSENT:
		write_tx_abort(&tx);
		return ERR_CAMPAIGN_UNKNOWN;
	case CAMPAIGN_FAILED:
		goto fail;
	}
	if (sb->camp.refusal != ERR_NONE)
		return submit_store_refusal(sb, &tx);
	if (sb->camp.invited_only) {
		switch ((e = submit_invited_participant(call->db, sb, &invited))) {
		case ERR_NONE:
			s = &invited;
			break;
		case ERR_INTERNAL:
			goto fail;
		default:
			write_tx_abort(&tx);
			PQclear(sb->participant);
			sb->participant = NULL;
			return e;
		}
	}

	switch (submission_insert(call->db, s, sb->camp.id, sb->token_hash, &st)) {
	case STORE_OK:
		break;
	case STORE_DUPLICATE_EMAIL:
		write_tx_abort(&tx);
		return ERR_ALREADY_SUBMITTED;
	case STORE_CAMPAIGN_REFUSED:
		/* Not expected under the campaign's lock; refused all the same, not stored. */
		write_tx_abort(&tx);
		return ERR_CAMPAIGN_CLOSED;
	case STORE_FAILED:
		goto fail;
	}
	st.campagne = sb->slug[0] != '\0' || st.late ? sb->camp.slug : NULL;
	if ((json = submission_to_json(s, &st)) == NULL ||
	    (sb->body = cJSON_PrintUnformatted(json)) == NULL ||
	    (details = cJSON_CreateObject()) == NULL)
		goto fail;
	cJSON_AddNumberToObject(details, "version", (double)st.version);
	cJSON_AddStringToObject(details, "idempotency_key_sha256", sb->key_hash);
	cJSON_AddNumberToObject(details, "creneaux", (double)s->nslots);
	entry.action = "submission.create";
	entry.entity = "soumissions_disponibilites";
	entry.entity_id = st.id;
	entry.actor = s->email;
	entry.details = details;

	if (!queue_receipt(call, s, &sb->camp, st.id, sb->token))
		goto fail;
	if ((e = write_tx_commit(&tx, 201, sb->body, &entry)) != ERR_NONE)
		goto failed;
	cJSON_Delete(details);
	cJSON_Delete(json);
	sb->status = 201;
	return ERR_NONE;

fail:
	e = write_tx_fail(&tx);
failed:
	cJSON_Delete(details);
	cJSON_Delete(json);
	cJSON_free(sb->body);
	sb->body = NULL;
	return e;
}

static void
handle_submit(struct call *call)
{
	struct http_request *req = call->req;
	struct submission s = { 0 };
	struct submit sb = { .s = &s };
	unsigned char payload_hash[SHA256_LEN];
	char key[37], slug[CAMPAIGN_SLUG_BUF] = "", campaign_id[24];
	char invitation_hex[2 * SHA256_LEN + 1] = "";
	enum api_error e;
	cJSON *root, *invitation;

	if ((root = respond_read_json(call)) == NULL)
		return;
	if (req->idempotency_key == NULL || req->idempotency_key[0] == '\0' ||
	    !http_idempotency_key(req, key)) {
		cJSON_Delete(root);
		respond_error(call, req->idempotency_key == NULL || req->idempotency_key[0] == '\0' ?
		    ERR_IDEMPOTENCY_KEY_MISSING : ERR_IDEMPOTENCY_KEY_INVALID);
		return;
	}
	if (!submit_campaign_named(call, root, slug, campaign_id)) {
		cJSON_Delete(root);
		goto done;
	}
	/* "invitation": taken out like "campagne"; checked in the transaction (invited-only
	 * campaigns), ignored elsewhere. Past this step only its SHA-256 is used. */
	invitation = cJSON_DetachItemFromObjectCaseSensitive(root, "invitation");
	if (invitation != NULL && !cJSON_IsNull(invitation)) {
		if (cJSON_IsString(invitation) && invitation_token_valid(invitation->valuestring))
			invitation_token_hash(invitation->valuestring, invitation_hex);
		sb.invitation_hash = invitation_hex;
	}
	cJSON_Delete(invitation);
	sb.slug = slug;
	if (!respond_validate_submission_in(call, root, &s, campaign_id))
		goto done;

	sha256(req->body, req->body_len, payload_hash);
	hex_encode(payload_hash, SHA256_LEN, sb.payload_hex);
	idempotency_key_hash(key, sb.key_hash);
	edit_token_for_key(call->cfg->secret, sizeof(call->cfg->secret), key, sb.token,
	    sb.token_hash);

	if ((e = store(call, &sb)) == ERR_NONE && sb.status >= 400) {
		/* A campaign's refusal, stored under the key: sent as stored, first time and
		 * replays alike. */
		http_send(call->fcgi->out, sb.status, "application/problem+json; charset=utf-8",
		    NULL, sb.body, strlen(sb.body));
		if (sb.replayed)
			respond_record(call, sb.status);
	} else if (e == ERR_NONE && !sb.replayed) {
		/* The first answer and every replay go through the same printing of the stored
		 * text, so they are byte-identical. */
		respond_representation(call, sb.status, sb.body, sb.token);
	} else if (e == ERR_NONE) {
		/* A key written in clear before sql/0010 may be anyone's: its stored answer, but
		 * no token (the person keeps the link of the receipt, or asks for a new one). */
		respond_representation(call, sb.status, sb.body, sb.exposed ? NULL : sb.token);
		respond_record(call, sb.status);
	} else {
		if (e == ERR_INTERNAL)
			log_error("soumission non enregistrée : %s", db_error(call->db));
		respond_error(call, e);
	}
	cJSON_free(sb.body);
done:
	PQclear(sb.participant);
	submission_free(&s);
}

static const struct route routes[] = {
	{ "/api/submit", "POST", handle_submit },
};

int
main(int argc, char **argv)
{
	static const struct program p = {
		.name = "fiable-submit",
		.summary = "enregistre une réponse (POST /api/submit)",
		.routes = routes,
		.nroutes = sizeof(routes) / sizeof(routes[0]),
	};

	return server_main(argc, argv, &p);
}
