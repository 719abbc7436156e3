/* invitation.c — for fiable-form (form.c): what a personal invitation link opens.
 *   POST /api/invitation          {"jeton": TOKEN} → 200 {nom, email, campagne, titre}, to
 *                                 fill the form in; 403 invitation_invalide. The token
 *                                 travels in the body, never in an address (server logs);
 *                                 nginx limits the rate (zone ecritures).
 *                                 Also "reponse" (repondu, retire, sans_reponse: as the view
 *                                 participants_reponses says), "repondu" (a boolean) and the
 *                                 campaign's "acces": once answered, the page opens the
 *                                 answer with the same token (it is also an edit token,
 *                                 lib/statements.c TOKEN_SUBMISSION).
 * The unsubscription from reminders (GET and POST /api/desinscription) is unsubscribe.c. */
#include <stdio.h>
#include <string.h>

#include "crypto.h"
#include "json.h"
#include "participants.h"
#include "respond.h"

void handle_invitation(struct call *call);

void
handle_invitation(struct call *call)
{
	static const char *const members[] = { "jeton" };
	char hash[2 * SHA256_LEN + 1];
	const char *params[1] = { hash };
	const cJSON *t;
	cJSON *root, *o, *unknown = cJSON_CreateObject();
	PGresult *res = NULL;

	if ((root = respond_read_json(call)) == NULL)
		goto done;
	t = cJSON_GetObjectItemCaseSensitive(root, "jeton");
	if (unknown == NULL || json_unknown_members(root, members, 1, unknown) != 0) {
		respond_problem(call, unknown ? ERR_VALIDATION : ERR_INTERNAL, "errors", unknown);
		goto done;
	}
	if (!cJSON_IsString(t) || !invitation_token_valid(t->valuestring)) {
		respond_error(call, ERR_INVITATION_INVALID);
		goto done;
	}
	invitation_token_hash(t->valuestring, hash);
	res = db_query(call->db, STMT_INVITATION_LOOKUP, params);
	if (!db_ok(res)) {
		respond_db_failure(call);
		goto done;
	}
	if (PQntuples(res) != 1) {
		respond_error(call, ERR_INVITATION_INVALID);
		goto done;
	}
	o = cJSON_CreateObject();
	cJSON_AddStringToObject(o, "nom", db_text_or(res, 0, "nom", ""));
	cJSON_AddStringToObject(o, "email", db_text_or(res, 0, "email", ""));
	cJSON_AddStringToObject(o, "campagne", db_text_or(res, 0, "slug", ""));
	cJSON_AddStringToObject(o, "titre", db_text_or(res, 0, "titre", ""));
	cJSON_AddStringToObject(o, "acces", db_text_or(res, 0, "acces", "ouvert"));
	cJSON_AddStringToObject(o, "reponse", db_text_or(res, 0, "reponse", "sans_reponse"));
	cJSON_AddBoolToObject(o, "repondu",
	    strcmp(db_text_or(res, 0, "reponse", ""), "repondu") == 0);
	respond_json(call, 200, "Cache-Control: no-store\r\n", o);
	cJSON_Delete(o);
done:
	PQclear(res);
	cJSON_Delete(root);
	cJSON_Delete(unknown);
}
