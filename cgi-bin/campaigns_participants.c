/* campaigns_participants.c — for fiable-campaigns (campaigns.c): who is invited to a
 * campaign (sql/0018, lib/participants.h).
 *   GET    …/N/participants            {campagne, acces, participants: [{id, email, nom,
 *                                      groupe, reponse, invitation, invite_le, erreur_smtp,
 *                                      desinscrit_relances}], groupes: [{groupe, counts}],
 *                                      total: {participants, repondu, sans_reponse, retire,
 *                                      invitation_refusee, taux_reponse}}
 *   POST   …/N/participants            {email, nom, groupe?} → 201 the participant; 409
 *                                      participant_existant
 *   DELETE …/N/participants/P          → 200 {supprime: P}
 *   POST   …/N/participants/import     (campaigns_participants_import.c)
 *   POST   …/N/participants/inviter    → 200 {invitations}: one mail queued per participant
 *                                      never invited (a second call queues nothing)
 *   PUT    …/N/acces                   {acces: "ouvert" | "invites"} → 200 {acces}
 * Audit: a row per participant added, removed or changed (the trigger of sql/0018, with the
 * administrator of campaign_tx_begin); one row per sending of invitations, with the count. */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "audit.h"
#include "campaign.h"
#include "campaigns.h"
#include "json.h"
#include "num.h"
#include "participants.h"
#include "respond.h"

void
handle_participants_list(struct call *call)
{
	struct campaign_address a;
	bool found;
	cJSON *o;

	if (!campaign_address_parse(call->req->uri, &a)) {
		respond_error(call, ERR_NOT_FOUND);
		return;
	}
	if ((o = participants_list_json(call->db, a.id, &found)) == NULL) {
		if (found)
			respond_db_failure(call);
		else
			respond_error(call, ERR_NOT_FOUND);
		return;
	}
	respond_json(call, 200, NULL, o);
	cJSON_Delete(o);
}

void
handle_participant_add(struct call *call)
{
	struct campaign_address a;
	struct participant_fields f = { 0 };
	const char *params[4];
	PGresult *locked = NULL, *res = NULL;
	cJSON *root = NULL, *errors = cJSON_CreateObject(), *o;
	bool found;

	if (!campaign_address_parse(call->req->uri, &a)) {
		respond_error(call, ERR_NOT_FOUND);
		goto done;
	}
	if ((root = respond_read_json(call)) == NULL)
		goto done;
	if (errors == NULL || participant_parse(root, &f, errors) != 0) {
		respond_problem(call, errors ? ERR_VALIDATION : ERR_INTERNAL, "errors", errors);
		goto done;
	}
	if (!campaign_write_begin(call, a.id, &locked))
		goto done;
	params[0] = a.id;
	params[1] = f.email;
	params[2] = f.nom;
	params[3] = f.groupe;
	res = db_exec(call->db, STMT_PARTICIPANT_INSERT, params);
	if (!db_ok(res)) {
		campaign_write_fail(call, ERR_NONE, NULL, NULL);
		goto done;
	}
	if (PQntuples(res) == 0) {
		campaign_write_fail(call, ERR_PARTICIPANT_EXISTS, NULL, NULL);
		goto done;
	}
	/* The answer: the new one as the list shows it (read in the transaction). */
	{
		cJSON *list = participants_list_json(call->db, a.id, &found), *p;
		const char *pid = db_text_or(res, 0, "id", "");
		o = NULL;
		cJSON_ArrayForEach(p, cJSON_GetObjectItemCaseSensitive(list, "participants")) {
			char idbuf[24];
			snprintf(idbuf, sizeof(idbuf), "%.0f",
			    cJSON_GetNumberValue(cJSON_GetObjectItemCaseSensitive(p, "id")));
			if (strcmp(idbuf, pid) == 0) {
				o = cJSON_Duplicate(p, 1);
				break;
			}
		}
		cJSON_Delete(list);
		if (o == NULL) {
			campaign_write_fail(call, ERR_NONE, NULL, NULL);
			goto done;
		}
	}
	campaign_write_commit(call, 201, NULL, o);
	cJSON_Delete(o);
done:
	PQclear(locked);
	PQclear(res);
	participant_fields_free(&f);
	cJSON_Delete(root);
	cJSON_Delete(errors);
}

void
handle_participant_remove(struct call *call)
{
	struct campaign_address a;
	const char *params[2];
	PGresult *locked = NULL, *res = NULL;

	if (!campaign_address_parse(call->req->uri, &a) || a.sid[0] == '\0') {
		respond_error(call, ERR_NOT_FOUND);
		return;
	}
	if (!campaign_origin_ok(call) || !campaign_write_begin(call, a.id, &locked))
		return;
	PQclear(locked);
	params[0] = a.id;
	params[1] = a.sid;
	res = db_exec(call->db, STMT_PARTICIPANT_DELETE, params);
	if (!db_ok(res))
		campaign_write_fail(call, ERR_NONE, NULL, NULL);
	else if (PQntuples(res) == 0)
		campaign_write_fail(call, ERR_NOT_FOUND, NULL, NULL);
	else {
		cJSON *o = cJSON_CreateObject();
		long long pid = 0;

		/* digits checked by campaign_address() */
		(void)num_parse(a.sid, 1, LLONG_MAX, &pid);
		cJSON_AddNumberToObject(o, "supprime", (double)pid);
		campaign_write_commit(call, 200, NULL, o);
		cJSON_Delete(o);
	}
	PQclear(res);
}

void
handle_participants_invite(struct call *call)
{
	struct campaign_address a;
	struct audit_entry entry;
	char actor[96], user[64], slug[72], titre[1024];
	PGresult *locked = NULL;
	cJSON *o, *details;
	int n;

	if (!campaign_address_parse(call->req->uri, &a)) {
		respond_error(call, ERR_NOT_FOUND);
		return;
	}
	if (!campaign_origin_ok(call) || !campaign_write_begin(call, a.id, &locked))
		return;
	if (strcmp(db_text_or(locked, 0, "etat", ""), "brouillon") == 0) {
		PQclear(locked);
		campaign_write_fail(call, ERR_CAMPAIGN_DRAFT, NULL, NULL);
		return;
	}
	snprintf(slug, sizeof(slug), "%s", db_text_or(locked, 0, "slug", ""));
	snprintf(titre, sizeof(titre), "%s", db_text_or(locked, 0, "titre", ""));
	PQclear(locked);
	if ((n = participants_invite(call->db, call->cfg, a.id, titre, slug)) < 0) {
		campaign_write_fail(call, ERR_NONE, NULL, NULL);
		return;
	}
	if (n > 0) {
		http_sanitize(user, sizeof(user), call->req->remote_user);
		snprintf(actor, sizeof(actor), "admin:%s", user);
		details = cJSON_CreateObject();
		cJSON_AddNumberToObject(details, "invitations", n);
		entry.action = "participants.invite";
		entry.entity = "campagnes";
		entry.entity_id = a.id;
		entry.actor = actor;
		entry.details = details;
		if (details == NULL || !audit_append(call->db, call->req, &entry)) {
			cJSON_Delete(details);
			campaign_write_fail(call, ERR_NONE, NULL, NULL);
			return;
		}
		cJSON_Delete(details);
	}
	o = cJSON_CreateObject();
	cJSON_AddNumberToObject(o, "invitations", n);
	campaign_write_commit(call, 200, NULL, o);
	cJSON_Delete(o);
}

void
handle_campaign_access(struct call *call)
{
	static const char *const members[] = { "acces" };
	struct campaign_address a;
	const char *params[2];
	const cJSON *v;
	PGresult *locked = NULL, *res = NULL;
	cJSON *root, *errors = cJSON_CreateObject(), *o;

	if (!campaign_address_parse(call->req->uri, &a)) {
		respond_error(call, ERR_NOT_FOUND);
		cJSON_Delete(errors);
		return;
	}
	if ((root = respond_read_json(call)) == NULL) {
		cJSON_Delete(errors);
		return;
	}
	v = cJSON_GetObjectItemCaseSensitive(root, "acces");
	if (errors == NULL || json_unknown_members(root, members, 1, errors) != 0 ||
	    !cJSON_IsString(v) || (strcmp(v->valuestring, "ouvert") != 0 &&
	    strcmp(v->valuestring, "invites") != 0)) {
		if (errors != NULL && !cJSON_HasObjectItem(errors, "acces") &&
		    cJSON_GetArraySize(errors) == 0)
			cJSON_AddStringToObject(errors, "acces", "Valeur attendue : « ouvert » "
			    "(quiconque a l’adresse) ou « invites » (les participants invités "
			    "seulement).");
		respond_problem(call, errors ? ERR_VALIDATION : ERR_INTERNAL, "errors", errors);
		goto done;
	}
	if (!campaign_write_begin(call, a.id, &locked))
		goto done;
	params[0] = a.id;
	params[1] = v->valuestring;
	res = db_exec(call->db, STMT_CAMPAIGN_ACCESS_SET, params);
	if (!db_ok(res) || PQntuples(res) != 1) {
		campaign_write_fail(call, ERR_NONE, NULL, NULL);
		goto done;
	}
	o = cJSON_CreateObject();
	cJSON_AddStringToObject(o, "acces", db_text_or(res, 0, "acces", ""));
	campaign_write_commit(call, 200, NULL, o);
	cJSON_Delete(o);
done:
	PQclear(locked);
	PQclear(res);
	cJSON_Delete(root);
	cJSON_Delete(errors);
}
