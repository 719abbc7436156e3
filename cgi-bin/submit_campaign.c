/* submit_campaign.c — fiable-submit's campaign side (submit.h): which campaign a body names,
 * who an invitation token invites, and the refusal stored outside the campaign's phase. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "audit.h"
#include "db.h"
#include "http.h"
#include "respond.h"
#include "submit.h"

/* A campaign outside its phase: the 403 is the stored response of the key (a replay gets
 * it again), with its metric and an audit row, and nothing else is written. */
enum api_error
submit_store_refusal(struct submit *sb, struct write_tx *tx)
{
	struct audit_entry entry;
	cJSON *details;
	enum api_error e;

	if ((sb->body = http_problem_body(sb->camp.refusal, sb->camp.detail, NULL, NULL)) == NULL ||
	    (details = cJSON_CreateObject()) == NULL) {
		cJSON_free(sb->body);
		sb->body = NULL;
		return write_tx_fail(tx);
	}
	cJSON_AddStringToObject(details, "campagne", sb->camp.slug);
	cJSON_AddStringToObject(details, "code", api_error_code(sb->camp.refusal));
	cJSON_AddStringToObject(details, "idempotency_key_sha256", sb->key_hash);
	entry.action = "submission.refused";
	entry.entity = "campagnes";
	entry.entity_id = sb->camp.id;
	entry.actor = sb->s->email;
	entry.details = details;
	e = write_tx_commit_refusal(tx, api_error_status(sb->camp.refusal), sb->body, &entry);
	cJSON_Delete(details);
	if (e != ERR_NONE) {
		cJSON_free(sb->body);
		sb->body = NULL;
		return e;
	}
	sb->status = api_error_status(sb->camp.refusal);
	return ERR_NONE;
}

/* Invited-only: the participant of the token in the campaign, into sb->participant, and
 * *out the submission under the participant's e-mail and name (pointing into sb->s and
 * sb->participant). ERR_NONE, a 403 to answer, or ERR_INTERNAL on a database failure. */
enum api_error
submit_invited_participant(struct db *db, struct submit *sb, struct submission *out)
{
	const char *params[2] = { sb->camp.id, sb->invitation_hash };
	PGresult *res;

	if (sb->invitation_hash == NULL)
		return ERR_INVITATION_REQUIRED;
	if (sb->invitation_hash[0] == '\0')
		return ERR_INVITATION_INVALID;	/* not even the shape of a token */
	res = db_exec(db, STMT_PARTICIPANT_BY_TOKEN, params);
	if (!db_ok(res)) {
		PQclear(res);
		return ERR_INTERNAL;
	}
	sb->participant = res;
	if (PQntuples(res) != 1)
		return ERR_INVITATION_INVALID;
	if (strcasecmp(db_text_or(res, 0, "email", ""), sb->s->email) != 0)
		return ERR_INVITATION_EMAIL;
	*out = *sb->s;
	/* PQgetvalue's text lives as long as the result (NOT NULL columns). */
	out->email = PQgetvalue(res, 0, PQfnumber(res, "email"));
	out->name = PQgetvalue(res, 0, PQfnumber(res, "nom"));
	return ERR_NONE;
}

/* Takes the member "campagne" out of the body (the other members are the submission's):
 * absent, the first campaign; else a slug of a campaign that exists, whose id goes into
 * campaign_id. False after answering (400 not a string, 422 no such campaign). */
bool
submit_campaign_named(struct call *call, cJSON *root, char slug[CAMPAIGN_SLUG_BUF],
    char campaign_id[24])
{
	cJSON *item = cJSON_DetachItemFromObjectCaseSensitive(root, "campagne"), *errors;
	bool valid = item == NULL || (cJSON_IsString(item) &&
	    campaign_slug_valid(item->valuestring));

	slug[0] = '\0';
	if (valid && item != NULL)
		snprintf(slug, CAMPAIGN_SLUG_BUF, "%s", item->valuestring);
	cJSON_Delete(item);
	if (valid) {
		switch (campaign_id_of(call->db, slug, campaign_id)) {
		case CAMPAIGN_FOUND:
			return true;
		case CAMPAIGN_ABSENT:
			break;
		case CAMPAIGN_FAILED:
			respond_db_failure(call);
			return false;
		}
	}
	if ((errors = cJSON_CreateObject()) == NULL) {
		respond_error(call, ERR_INTERNAL);
		return false;
	}
	cJSON_AddStringToObject(errors, "campagne",
	    "Cette campagne n’existe pas : vérifiez l’adresse du formulaire.");
	respond_problem(call, ERR_CAMPAIGN_UNKNOWN, "errors", errors);
	cJSON_Delete(errors);
	return false;
}
