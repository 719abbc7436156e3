/* fiable-restore — bringing back an earlier state, never by erasing history:
 *   POST /api/restore        with the edit token (Authorization: Bearer)
 *   POST /api/admin/restore  for the administration (behind nginx auth_basic), with "id"
 * Body {"version": N}: the content of version N becomes a new version.
 * Body {"undelete": true}: a withdrawn submission becomes active again, unless its e-mail
 * has a newer active submission (409). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "change.h"
#include "config.h"
#include "crypto.h"
#include "db.h"
#include "http.h"
#include "json.h"
#include "log.h"
#include "metrics.h"
#include "respond.h"
#include "server.h"
#include "submission.h"

#define EP_ADMIN_RESTORE "/api/admin/restore"

struct restore_request {
	long version;       /* 0 for undelete */
};

static enum api_error
apply_version(struct db *db, const struct locked_submission *row, struct change *c,
    cJSON *details)
{
	const struct restore_request *rr = c->arg;
	char version[24], *slots = NULL;
	const char *params[5];
	const cJSON *email, *nom, *creneaux, *commentaire;
	cJSON *content = NULL;
	PGresult *res;
	enum store_result r;

	if (rr->version >= row->version) {
		c->errors = cJSON_CreateObject();
		cJSON_AddStringToObject(c->errors, "version",
		    "Choisissez une version antérieure à la version actuelle.");
		return ERR_VALIDATION;
	}
	snprintf(version, sizeof(version), "%ld", rr->version);
	params[0] = row->id;
	params[1] = version;
	res = db_exec(db, STMT_SUBMISSION_CONTENT_AT, params);
	if (db_ok(res) && PQntuples(res) == 1 && !db_is_null(res, 0, "contenu"))
		content = cJSON_Parse(db_text(res, 0, "contenu"));
	PQclear(res);
	email = cJSON_GetObjectItemCaseSensitive(content, "email");
	nom = cJSON_GetObjectItemCaseSensitive(content, "nom");
	creneaux = cJSON_GetObjectItemCaseSensitive(content, "creneaux");
	commentaire = cJSON_GetObjectItemCaseSensitive(content, "commentaire");
	if (!cJSON_IsString(email) || !cJSON_IsString(nom) || !cJSON_IsArray(creneaux) ||
	    !cJSON_IsString(commentaire) || (slots = cJSON_PrintUnformatted(creneaux)) == NULL) {
		cJSON_Delete(content);
		return ERR_INTERNAL;
	}
	params[1] = email->valuestring;
	params[2] = nom->valuestring;
	params[3] = slots;
	params[4] = commentaire->valuestring;
	r = submission_write_active(db, STMT_SUBMISSION_UPDATE, email->valuestring, params);
	cJSON_AddNumberToObject(details, "version_restauree", (double)rr->version);
	cJSON_free(slots);
	cJSON_Delete(content);
	return change_store_error(r);
}

static enum api_error
apply_undelete(struct db *db, const struct locked_submission *row, struct change *c,
    cJSON *details)
{
	const char *params[1] = { row->id };
	enum store_result r;

	(void)c;
	(void)details;
	if (!row->withdrawn)
		return ERR_NOT_WITHDRAWN;
	r = submission_write_active(db, STMT_SUBMISSION_UNDELETE, row->email, params);
	return change_store_error(r);
}

/* Reads a positive integer member; false when absent or not a whole number in range. */
static bool
whole_number(const cJSON *item, long *out)
{
	double v;

	if (!cJSON_IsNumber(item))
		return false;
	v = item->valuedouble;
	if (!(v >= 1 && v <= 2147483647.0) || (double)(long)v != v)
		return false;
	*out = (long)v;
	return true;
}

/* The members of a body: {"version": N} or {"undelete": true}, and for the administration
 * the submission's "id". */
static const char *const members[] = { "version", "undelete", "id" };
#define MEMBERS (sizeof(members) / sizeof(members[0]))

static void
handle_restore(struct call *call)
{
	struct http_request *req = call->req;
	struct change c = { 0 };
	struct restore_request rr = { 0 };
	char token_hash[2 * SHA256_LEN + 1], fingerprint[2 * SHA256_LEN + 1];
	char id[24], actor[96], user[64];
	const cJSON *version, *undelete;
	cJSON *root, *errors;
	enum api_error e;
	/* The administration is decided by the address, never by REMOTE_USER (README). */
	bool admin = strcmp(call->endpoint, EP_ADMIN_RESTORE) == 0;
	long n;

	/* Defence in depth: nginx asks for the password; a request that did not pass it has
	 * no REMOTE_USER and is refused here too. */
	if (admin && (req->remote_user == NULL || req->remote_user[0] == '\0')) {
		respond_error(call, ERR_ADMIN_REQUIRED);
		return;
	}
	/* The person's own restoration belongs to the feature "modification" (rollback
	 * scenario 2); the administration's does not. */
	if (!admin && !respond_feature_allowed(call, "modification", ERR_MODIFICATION_DISABLED))
		return;
	if (!admin && !edit_token_lookup_hash(http_bearer_token(req), token_hash)) {
		respond_error(call, ERR_INVALID_TOKEN);
		return;
	}
	if (http_if_match_version(req, &c.if_match) < 0) {
		respond_error(call, ERR_VERSION_MISMATCH);
		return;
	}
	if ((root = respond_read_json(call)) == NULL)
		return;

	version = cJSON_GetObjectItemCaseSensitive(root, "version");
	undelete = cJSON_GetObjectItemCaseSensitive(root, "undelete");
	errors = cJSON_CreateObject();
	/* The administration names the submission too ("id", last of the list). */
	if (errors == NULL || json_unknown_members(root, members,
	    admin ? MEMBERS : MEMBERS - 1, errors) < 0) {
		cJSON_Delete(root);
		cJSON_Delete(errors);
		respond_error(call, ERR_INTERNAL);
		return;
	}
	if (cJSON_IsTrue(undelete) && version == NULL) {
		rr.version = 0;
	} else if (undelete == NULL && version != NULL) {
		if (!whole_number(version, &rr.version))
			cJSON_AddStringToObject(errors, "version",
			    "La version doit être un nombre entier positif.");
	} else {
		cJSON_AddStringToObject(errors, "version",
		    "Indiquez soit « version » (un numéro de version), soit « undelete »: true.");
	}
	if (admin) {
		if (whole_number(cJSON_GetObjectItemCaseSensitive(root, "id"), &n))
			snprintf(id, sizeof(id), "%ld", n);
		else
			cJSON_AddStringToObject(errors, "id", "L’identifiant de la réponse est obligatoire.");
	}
	cJSON_Delete(root);
	if (cJSON_GetArraySize(errors) > 0) {
		respond_problem(call, ERR_VALIDATION, "errors", errors);
		cJSON_Delete(errors);
		return;
	}
	cJSON_Delete(errors);

	if (!change_fingerprint(admin ? NULL : token_hash, req, fingerprint)) {
		respond_error(call, ERR_INTERNAL);
		return;
	}
	c.endpoint = call->endpoint;
	c.action = rr.version > 0 ? "submission.restore" : "submission.undelete";
	c.fingerprint = fingerprint;
	c.on_withdrawn = rr.version == 0;
	c.apply = rr.version > 0 ? apply_version : apply_undelete;
	c.arg = &rr;
	if (admin) {
		http_sanitize(user, sizeof(user), req->remote_user);
		snprintf(actor, sizeof(actor), "admin:%s", user);
		c.id = id;
		c.actor = actor;
	} else {
		c.token_hash = token_hash;
	}
	e = change_run(call->db, req, &c);
	if (e == ERR_NONE) {
		respond_representation(call, c.status, c.body, NULL);
		if (c.replayed)
			respond_record(call, c.status);
	} else if (e == ERR_VERSION_MISMATCH) {
		respond_problem(call, e, "current", c.current);
	} else {
		if (e == ERR_INTERNAL)
			log_error("restauration non enregistrée : %s", db_error(call->db));
		respond_problem(call, e, "errors", c.errors);
	}
	change_free(&c);
}

static const struct route routes[] = {
	{ "/api/restore", "POST", handle_restore },
	{ EP_ADMIN_RESTORE, "POST", handle_restore },
};

int
main(int argc, char **argv)
{
	static const struct program p = {
		.name = "fiable-restore",
		.summary = "restauration d’une version ou d’une réponse retirée (/api/restore)",
		.routes = routes,
		.nroutes = sizeof(routes) / sizeof(routes[0]),
	};

	return server_main(argc, argv, &p);
}
