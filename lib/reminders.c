/* reminders.c — reminders to those who have not answered (reminders.h). */
#include "reminders.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "audit.h"
#include "json.h"
#include "log.h"
#include "outbox.h"
#include "participants.h"
#include "validate.h"

/* The token of the person of row i of a claim: the invitation's again when its salt gives
 * back the stored hash; else (another secret, an invitation from before sql/0022) a new one,
 * stored, which replaces it. *same tells which. */
static bool
reminder_token(struct db *db, const struct config *cfg, const PGresult *res, int i,
    char token[TOKEN_STR_LEN], bool *same)
{
	const char *pid = db_text_or(res, i, "id", ""), *params[3];
	char hash[2 * SHA256_LEN + 1], salt[2 * INVITATION_SALT_LEN + 1];
	PGresult *upd;
	bool ok;

	if (!db_is_null(res, i, "sel")) {
		invitation_token_derive(cfg, pid, db_text_or(res, i, "sel", ""), token, hash);
		if (strcmp(hash, db_text_or(res, i, "hash", "")) == 0) {
			*same = true;
			return true;
		}
	}
	*same = false;
	if (!invitation_salt_new(salt))
		return false;
	invitation_token_derive(cfg, pid, salt, token, hash);
	params[0] = pid;
	params[1] = salt;
	params[2] = hash;
	upd = db_exec(db, STMT_PARTICIPANT_TOKEN_RENEW, params);
	ok = db_ok(upd) && PQntuples(upd) == 1;
	PQclear(upd);
	return ok;
}

/* Queues the mail of row i of a claim of reminder run_id and notes it on its row. */
static bool
reminder_mail(struct db *db, const struct config *cfg, const PGresult *claim, int i,
    const char *run_id, const PGresult *camp)
{
	const char *pid = db_text_or(claim, i, "id", ""), *params[3];
	char token[TOKEN_STR_LEN], headers[512], mail_id[24];
	char *subject = NULL, *body = NULL;
	long long mid = 0;
	PGresult *upd;
	bool same = false, ok;

	if (!reminder_token(db, cfg, claim, i, token, &same) ||
	    !unsubscribe_headers(cfg, pid, headers, sizeof(headers)))
		return false;
	ok = message_reminder(cfg, db_text_or(camp, 0, "titre", ""), db_text(camp, 0, "slug"),
	    db_text_or(claim, i, "nom", ""), db_text(camp, 0, "ferme_le"), token, same, &subject,
	    &body) == 0 &&
	    outbox_enqueue_headers(db, MAIL_REMINDER, db_text_or(claim, i, "email", ""), subject,
	    body, headers, &mid);
	OPENSSL_cleanse(token, sizeof(token));
	free(subject);
	free(body);
	if (!ok)
		return false;
	snprintf(mail_id, sizeof(mail_id), "%lld", mid);
	params[0] = run_id;
	params[1] = pid;
	params[2] = mail_id;
	upd = db_exec(db, STMT_REMINDER_MAIL, params);
	ok = db_ok(upd);
	PQclear(upd);
	return ok;
}

/* The audit row of a reminder: who, which, how many. */
static bool
reminder_audit(struct db *db, const struct http_request *req, const char *id,
    const struct reminder *r, const char *run_id, int sent)
{
	char actor[96];
	cJSON *details = cJSON_CreateObject();
	struct audit_entry e = { .action = "participants.remind", .entity = "campagnes",
	    .entity_id = id, .actor = actor, .details = details };
	bool ok;

	if (details == NULL)
		return false;
	if (r->admin != NULL) {
		snprintf(actor, sizeof(actor), "admin:%s", r->admin);
	} else {
		snprintf(actor, sizeof(actor), "cron:fiable-reminders");
		cJSON_AddNumberToObject(details, "heures_avant", r->hours);
	}
	cJSON_AddStringToObject(details, "relance", run_id);
	cJSON_AddNumberToObject(details, "envoyes", sent);
	ok = audit_append(db, req, &e);
	cJSON_Delete(details);
	return ok;
}

enum reminder_outcome
reminder_run(struct db *db, const struct config *cfg, const struct http_request *req,
    const char *id, const struct reminder *r, int *sent)
{
	const char *params[3];
	char hours[16], run_id[24], count[16];
	PGresult *camp = NULL, *res = NULL, *claim = NULL;
	enum reminder_outcome out = REMINDER_FAILED;
	const char *manual = r->admin != NULL ? "true" : "false";
	long long n = 0;
	int i;

	*sent = 0;
	params[0] = id;
	camp = db_exec(db, STMT_REMINDER_CAMPAIGN, params);
	if (!db_ok(camp) || PQntuples(camp) != 1)
		goto done;
	if (strcmp(db_text_or(camp, 0, "phase", ""), "ouverte") != 0) {
		out = REMINDER_NOT_OPEN;
		goto done;
	}
	if (r->admin != NULL) {
		/* A click with nobody to remind leaves no record. */
		params[1] = manual;
		res = db_exec(db, STMT_REMINDER_TARGETS_COUNT, params);
		if (!db_ok(res) || !db_int(res, 0, "n", 0, LLONG_MAX, &n))
			goto done;
		if (n == 0) {
			out = REMINDER_SENT;
			goto done;
		}
		PQclear(res);
		params[1] = r->admin;
		res = db_exec(db, STMT_REMINDER_RUN_MANUAL, params);
	} else {
		snprintf(hours, sizeof(hours), "%d", r->hours);
		params[1] = hours;
		res = db_exec(db, STMT_REMINDER_RUN_AUTO, params);
	}
	if (!db_ok(res))
		goto done;
	if (PQntuples(res) == 0) {
		out = REMINDER_SENT;	/* that automatic reminder was done */
		goto done;
	}
	snprintf(run_id, sizeof(run_id), "%s", db_text_or(res, 0, "id", ""));
	params[1] = run_id;
	params[2] = manual;
	claim = db_exec(db, STMT_REMINDER_CLAIM, params);
	if (!db_ok(claim))
		goto done;
	for (i = 0; i < PQntuples(claim); i++)
		if (!reminder_mail(db, cfg, claim, i, run_id, camp))
			goto done;
	*sent = PQntuples(claim);
	PQclear(res);
	snprintf(count, sizeof(count), "%d", *sent);
	params[0] = run_id;
	params[1] = count;
	res = db_exec(db, STMT_REMINDER_COUNT_ADD, params);
	if (!db_ok(res) || !reminder_audit(db, req, id, r, run_id, *sent))
		goto done;
	out = REMINDER_SENT;
done:
	if (out == REMINDER_FAILED) {
		*sent = 0;
		log_warn("%s: relance de la campagne %s non préparée : %s", __func__, id,
		    db_error(db));
	}
	PQclear(camp);
	PQclear(res);
	PQclear(claim);
	return out;
}

bool
reminder_schedule_parse(const cJSON *root, char *out, size_t cap, cJSON *errors)
{
	static const char *const members[] = { "heures" };
	static const char msg[] = "Indiquez au plus " VALIDATE_STR(REMINDER_SCHEDULE_MAX) " relances, chacune un "
	    "nombre entier d’heures avant la fermeture, de 1 à " VALIDATE_STR(REMINDER_HOURS_MAX)
	    " (90 jours), sans doublon.";
	const cJSON *h = cJSON_GetObjectItemCaseSensitive(root, "heures"), *v;
	int seen[REMINDER_SCHEDULE_MAX], n = 0, i, len;
	size_t used = 0;

	if (json_unknown_members(root, members, 1, errors) != 0)
		return false;
	if (!cJSON_IsArray(h) || cJSON_GetArraySize(h) > REMINDER_SCHEDULE_MAX)
		goto bad;
	len = snprintf(out, cap, "[");
	used = (size_t)len;
	cJSON_ArrayForEach(v, h) {
		double d = cJSON_GetNumberValue(v);

		if (!cJSON_IsNumber(v) || d < 1 || d > REMINDER_HOURS_MAX || d != (double)(int)d)
			goto bad;
		for (i = 0; i < n; i++)
			if (seen[i] == (int)d)
				goto bad;
		seen[n] = (int)d;
		len = snprintf(out + used, cap - used, "%s%d", n ? "," : "", seen[n]);
		n++;
		if (len < 0 || (size_t)len >= cap - used)
			goto bad;
		used += (size_t)len;
	}
	if (used + 2 > cap)
		goto bad;
	memcpy(out + used, "]", 2);
	return true;
bad:
	cJSON_AddStringToObject(errors, "heures", msg);
	return false;
}
