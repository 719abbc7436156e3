/* invitation.c — for fiable-form (form.c): what a personal invitation link opens.
 *   POST /api/invitation          {"jeton": TOKEN} → 200 {nom, email, campagne, titre}, to
 *                                 fill the form in; 403 invitation_invalide. The token
 *                                 travels in the body, never in an address (server logs);
 *                                 nginx limits the rate (zone ecritures).
 *   POST /api/desinscription?p=P&s=SIG   the one-click unsubscription from reminders of
 *                                 RFC 8058 (the List-Unsubscribe address of the invitation):
 *                                 SIG is the HMAC of participant P (participants.h), so a
 *                                 mail client can post it without logging in, and it can
 *                                 do nothing else. 200 with a French message, also when
 *                                 already unsubscribed; 403 invitation_invalide otherwise. */
#include <stdio.h>
#include <string.h>

#include "crypto.h"
#include "json.h"
#include "participants.h"
#include "respond.h"

void handle_invitation(struct call *call);
void handle_unsubscribe(struct call *call);

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
	respond_json(call, 200, "Cache-Control: no-store\r\n", o);
	cJSON_Delete(o);
done:
	PQclear(res);
	cJSON_Delete(root);
	cJSON_Delete(unknown);
}

void
handle_unsubscribe(struct call *call)
{
	char pid[24], sig[TOKEN_STR_LEN + 1], want[TOKEN_STR_LEN];
	const char *params[1] = { pid };
	const char *q = call->req->query_string;
	PGresult *res;
	cJSON *o;
	size_t n;

	if (q == NULL || !http_query_value(q, "p", pid, sizeof(pid)) ||
	    !http_query_value(q, "s", sig, sizeof(sig)) ||
	    (n = strspn(pid, "0123456789")) == 0 || n > 18 || pid[n] != '\0' ||
	    strlen(sig) != TOKEN_STR_LEN - 1) {
		respond_error(call, ERR_INVITATION_INVALID);
		return;
	}
	unsubscribe_signature(call->cfg, pid, want);
	if (!equal_ct((const unsigned char *)want, (const unsigned char *)sig,
	    TOKEN_STR_LEN - 1)) {
		respond_error(call, ERR_INVITATION_INVALID);
		return;
	}
	res = db_exec(call->db, STMT_PARTICIPANT_UNSUBSCRIBE, params);
	if (!db_ok(res)) {
		PQclear(res);
		respond_db_failure(call);
		return;
	}
	PQclear(res);
	o = cJSON_CreateObject();
	cJSON_AddStringToObject(o, "message", "Vous ne recevrez plus de relance pour cette "
	    "campagne. Vous pouvez toujours y répondre avec le lien de votre invitation.");
	respond_json(call, 200, "Cache-Control: no-store\r\n", o);
	cJSON_Delete(o);
}
