/* participants.c — participants of a campaign: bodies and CSV checked, the organiser's
 * list with its counts, the invitations (participants.h). */
#include "participants.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <openssl/crypto.h>

#include "csv.h"
#include "json.h"
#include "log.h"
#include "mail.h"
#include "num.h"
#include "outbox.h"
#include "validate.h"

#define CSV_MAX_FIELDS 3

static const char msg_email[] = "Adresse e-mail invalide : écrivez par exemple "
    "prenom.nom@exemple.be.";
static const char msg_nom[] = "Le nom est obligatoire (au plus "
    VALIDATE_STR(PARTICIPANT_NAME_MAX_CHARS) " caractères, sans caractère de contrôle).";
static const char msg_groupe[] = "Le groupe compte au plus "
    VALIDATE_STR(PARTICIPANT_GROUP_MAX_CHARS) " caractères, sans caractère de contrôle.";

void
participant_fields_free(struct participant_fields *f)
{
	free(f->email);
	free(f->nom);
	free(f->groupe);
	memset(f, 0, sizeof(*f));
}

static bool
name_ok(const char *nom)
{
	long n = utf8_text_length(nom, false);

	return n >= 1 && n <= PARTICIPANT_NAME_MAX_CHARS;
}

/* groupe may be "" (none). */
static bool
group_ok(const char *groupe)
{
	long n = utf8_text_length(groupe, false);

	return n >= 0 && n <= PARTICIPANT_GROUP_MAX_CHARS;
}

/* The checks of a person, shared by a body and a file line: NULL when valid, else the
 * French message of the first fault. */
static const char *
person_fault(const char *email, const char *nom, const char *groupe)
{
	if (strlen(email) > EMAIL_MAX_LEN || !valid_email(email))
		return msg_email;
	if (!name_ok(nom))
		return msg_nom;
	if (!group_ok(groupe))
		return msg_groupe;
	return NULL;
}

int
participant_parse(const cJSON *root, struct participant_fields *f, cJSON *errors)
{
	static const char *const members[] = { "email", "nom", "groupe" };
	const cJSON *e = cJSON_GetObjectItemCaseSensitive(root, "email");
	const cJSON *n = cJSON_GetObjectItemCaseSensitive(root, "nom");
	const cJSON *g = cJSON_GetObjectItemCaseSensitive(root, "groupe");
	int faults;

	memset(f, 0, sizeof(*f));
	if ((faults = json_unknown_members(root, members, 3, errors)) < 0)
		return 1;
	if (cJSON_IsString(e))
		f->email = trim_dup(e->valuestring);
	if (f->email == NULL || strlen(f->email) > EMAIL_MAX_LEN || !valid_email(f->email)) {
		cJSON_AddStringToObject(errors, "email", msg_email);
		faults++;
	}
	if (cJSON_IsString(n))
		f->nom = trim_dup(n->valuestring);
	if (f->nom == NULL || !name_ok(f->nom)) {
		cJSON_AddStringToObject(errors, "nom", msg_nom);
		faults++;
	}
	if (g != NULL && !cJSON_IsNull(g)) {
		if (cJSON_IsString(g))
			f->groupe = trim_dup(g->valuestring);
		if (f->groupe == NULL || !group_ok(f->groupe)) {
			cJSON_AddStringToObject(errors, "groupe", msg_groupe);
			faults++;
		} else if (f->groupe[0] == '\0') {
			free(f->groupe);
			f->groupe = NULL;
		}
	}
	return faults;
}

/* The separator: whichever of ';' and ',' comes first in the first line (an address or a
 * column name holds neither). */
static char
csv_separator(const char *line, size_t len)
{
	size_t i;

	for (i = 0; i < len; i++)
		if (line[i] == ';' || line[i] == ',')
			return line[i];
	return ';';
}

int
participant_csv_parse(const char *data, size_t len, cJSON **rows, struct slot_errors *errors)
{
	const char *p = data, *end = data + len;
	char *buf = NULL, sep = ';';
	int line = 0, start_count = errors->count, rc = -1, count = 0;
	bool first = true;
	cJSON *got;

	*rows = NULL;
	if (len > PARTICIPANT_IMPORT_MAX_BYTES) {
		slot_errors_add(errors, 0, NULL, "Fichier trop grand : 1 Mio au plus.");
		return 1;
	}
	if (memchr(data, '\0', len) != NULL) {
		slot_errors_add(errors, 0, NULL, "Ce fichier n’est pas du texte (il contient un "
		    "octet nul) : enregistrez-le au format CSV, en UTF-8.");
		return 1;
	}
	if (len >= 3 && memcmp(p, "\xEF\xBB\xBF", 3) == 0)
		p += 3;
	if ((got = cJSON_CreateArray()) == NULL || (buf = malloc(len + CSV_MAX_FIELDS + 2)) == NULL)
		goto fail;
	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		size_t l = (size_t)((nl != NULL ? nl : end) - p);
		const char *text = p, *msg = NULL;
		char *fields[CSV_MAX_FIELDS];
		cJSON *o;
		int n;

		p = nl != NULL ? nl + 1 : end;
		line++;
		if (l > 0 && text[l - 1] == '\r')
			l--;
		if (csv_blank(text, l))
			continue;
		if (first) {
			first = false;
			sep = csv_separator(text, l);
			n = csv_split(text, l, sep, buf, fields, CSV_MAX_FIELDS);
			if (n > 0 && strchr(fields[0], '@') == NULL)
				continue;	/* a header */
		}
		n = csv_split(text, l, sep, buf, fields, CSV_MAX_FIELDS);
		if (n == -1)
			msg = "Un guillemet n’est pas fermé (un champ entre guillemets ne peut pas "
			    "contenir de retour à la ligne).";
		else if (n == -2)
			msg = "Trop de colonnes : e-mail, nom et groupe au plus.";
		else if (n == -3)
			msg = "Du texte suit un guillemet fermant : mettez tout le champ entre "
			    "guillemets.";
		else if (n < 2)
			msg = "Colonnes attendues : e-mail, nom et, si vous voulez, groupe.";
		else
			msg = person_fault(fields[0], fields[1], n > 2 ? fields[2] : "");
		if (msg != NULL) {
			slot_errors_add(errors, line, NULL, msg);
			continue;
		}
		if (count == PARTICIPANT_IMPORT_MAX_ROWS) {
			slot_errors_add(errors, line, NULL, "Trop de personnes dans un fichier : "
			    VALIDATE_STR(PARTICIPANT_IMPORT_MAX_ROWS) " au plus.");
			break;
		}
		if ((o = cJSON_CreateObject()) == NULL)
			goto fail;
		cJSON_AddItemToArray(got, o);
		cJSON_AddNumberToObject(o, "ligne", line);
		cJSON_AddStringToObject(o, "email", fields[0]);
		cJSON_AddStringToObject(o, "nom", fields[1]);
		if (n > 2 && fields[2][0] != '\0')
			cJSON_AddStringToObject(o, "groupe", fields[2]);
		else
			cJSON_AddNullToObject(o, "groupe");
		count++;
	}
	if (errors->count == start_count && count == 0)
		slot_errors_add(errors, 0, NULL, "Le fichier ne contient aucune personne.");
	if (errors->count > start_count) {
		rc = errors->count - start_count;
		goto fail;
	}
	*rows = got;
	got = NULL;
	rc = 0;
fail:
	free(buf);
	cJSON_Delete(got);
	return rc;
}

cJSON *
participant_row_json(const PGresult *res, int row)
{
	cJSON *o = cJSON_CreateObject();
	long long id = 0;

	if (o == NULL)
		return NULL;
	db_int(res, row, "id", 1, LLONG_MAX, &id);
	cJSON_AddNumberToObject(o, "id", (double)id);
	cJSON_AddStringToObject(o, "email", db_text_or(res, row, "email", ""));
	cJSON_AddStringToObject(o, "nom", db_text_or(res, row, "nom", ""));
	if (db_is_null(res, row, "groupe"))
		cJSON_AddNullToObject(o, "groupe");
	else
		cJSON_AddStringToObject(o, "groupe", db_text_or(res, row, "groupe", ""));
	cJSON_AddStringToObject(o, "reponse", db_text_or(res, row, "reponse", "sans_reponse"));
	/* Not invited yet: "a_inviter"; then the state of its mail. */
	cJSON_AddStringToObject(o, "invitation", db_is_null(res, row, "invited_at") ?
	    "a_inviter" : db_text_or(res, row, "statut_invitation", "a_envoyer"));
	if (db_is_null(res, row, "invited_at"))
		cJSON_AddNullToObject(o, "invite_le");
	else
		cJSON_AddStringToObject(o, "invite_le", db_text_or(res, row, "invited_at", ""));
	if (db_is_null(res, row, "erreur_smtp"))
		cJSON_AddNullToObject(o, "erreur_smtp");
	else
		cJSON_AddStringToObject(o, "erreur_smtp", db_text_or(res, row, "erreur_smtp", ""));
	cJSON_AddBoolToObject(o, "desinscrit_relances", db_bool(res, row, "desinscrit"));
	return o;
}

/* Counts of a group or of the whole list. */
struct tally {
	int total, repondu, sans_reponse, retire, refusee;
};

static void
tally_add(struct tally *t, const char *reponse, const cJSON *p)
{
	const cJSON *inv = cJSON_GetObjectItemCaseSensitive(p, "invitation");

	t->total++;
	if (strcmp(reponse, "repondu") == 0)
		t->repondu++;
	else if (strcmp(reponse, "retire") == 0)
		t->retire++;
	else
		t->sans_reponse++;
	if (cJSON_IsString(inv) && strcmp(inv->valuestring, "refusee") == 0)
		t->refusee++;
}

/* The counts as JSON; the response rate is answered / listed (0 to 1, 4 decimals), null
 * for an empty list. */
static void
tally_json(cJSON *o, const struct tally *t)
{
	cJSON_AddNumberToObject(o, "participants", t->total);
	cJSON_AddNumberToObject(o, "repondu", t->repondu);
	cJSON_AddNumberToObject(o, "sans_reponse", t->sans_reponse);
	cJSON_AddNumberToObject(o, "retire", t->retire);
	cJSON_AddNumberToObject(o, "invitation_refusee", t->refusee);
	if (t->total == 0)
		cJSON_AddNullToObject(o, "taux_reponse");
	else
		cJSON_AddNumberToObject(o, "taux_reponse",
		    (double)(long)(10000.0 * t->repondu / t->total + 0.5) / 10000.0);
}

cJSON *
participants_list_json(struct db *db, const char *id, bool *found)
{
	const char *params[1] = { id };
	PGresult *res = db_query(db, STMT_PARTICIPANTS_LIST, params);
	struct tally total = { 0 }, group = { 0 };
	cJSON *o = NULL, *list, *groups, *g = NULL, *t;
	const char *cur = NULL;
	long long cid;
	int i, n;

	*found = true;
	if (!db_ok(res))
		goto fail;
	if ((n = PQntuples(res)) == 0) {
		*found = false;
		goto fail;
	}
	if ((o = cJSON_CreateObject()) == NULL)
		goto fail;
	/* The campaign's id: the parameter, digits checked by the address. */
	if (!num_parse(id, 1, LLONG_MAX, &cid))
		goto fail;
	cJSON_AddNumberToObject(o, "campagne", (double)cid);
	cJSON_AddStringToObject(o, "acces", db_text_or(res, 0, "acces", "ouvert"));
	list = cJSON_AddArrayToObject(o, "participants");
	groups = cJSON_AddArrayToObject(o, "groupes");
	for (i = 0; i < n; i++) {
		const char *grp = db_is_null(res, i, "groupe") ? NULL : db_text(res, i, "groupe");
		cJSON *p;

		if (db_is_null(res, i, "id"))
			continue;	/* the campaign has no participant */
		if ((p = participant_row_json(res, i)) == NULL)
			goto fail;
		cJSON_AddItemToArray(list, p);
		if (g == NULL || (grp == NULL) != (cur == NULL) ||
		    (grp != NULL && strcmp(grp, cur) != 0)) {
			if (g != NULL)
				tally_json(g, &group);
			if ((g = cJSON_CreateObject()) == NULL)
				goto fail;
			cJSON_AddItemToArray(groups, g);
			if (grp == NULL)
				cJSON_AddNullToObject(g, "groupe");
			else
				cJSON_AddStringToObject(g, "groupe", grp);
			memset(&group, 0, sizeof(group));
			cur = grp;
		}
		tally_add(&group, db_text_or(res, i, "reponse", ""), p);
		tally_add(&total, db_text_or(res, i, "reponse", ""), p);
	}
	if (g != NULL)
		tally_json(g, &group);
	if ((t = cJSON_AddObjectToObject(o, "total")) == NULL)
		goto fail;
	tally_json(t, &total);
	PQclear(res);
	return o;
fail:
	PQclear(res);
	cJSON_Delete(o);
	return NULL;
}

bool
invitation_token_valid(const char *s)
{
	return s != NULL && strlen(s) == INVITATION_TOKEN_LEN &&
	    strspn(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_") ==
	    INVITATION_TOKEN_LEN;
}

void
invitation_token_hash(const char *token, char hash_hex[2 * SHA256_LEN + 1])
{
	unsigned char h[SHA256_LEN];

	sha256(token, strlen(token), h);
	hex_encode(h, SHA256_LEN, hash_hex);
}

bool
invitation_salt_new(char salt_hex[2 * INVITATION_SALT_LEN + 1])
{
	unsigned char r[INVITATION_SALT_LEN];

	if (random_bytes(r, sizeof(r)) != 0)
		return false;
	hex_encode(r, sizeof(r), salt_hex);
	return true;
}

void
invitation_token_derive(const struct config *cfg, const char *pid, const char *salt_hex,
    char token[TOKEN_STR_LEN], char hash_hex[2 * SHA256_LEN + 1])
{
	char msg[96];
	unsigned char mac[SHA256_LEN];
	int n = snprintf(msg, sizeof(msg), "fiable-invitation:%s:%s", pid, salt_hex);

	hmac_sha256(cfg->secret, sizeof(cfg->secret), msg, (size_t)n, mac);
	base64url_encode(mac, sizeof(mac), token);
	OPENSSL_cleanse(mac, sizeof(mac));
	invitation_token_hash(token, hash_hex);
}

void
unsubscribe_signature(const struct config *cfg, const char *pid, char out[TOKEN_STR_LEN])
{
	char msg[64];
	unsigned char mac[SHA256_LEN];
	int n = snprintf(msg, sizeof(msg), "fiable-desinscription:%s", pid);

	hmac_sha256(cfg->secret, sizeof(cfg->secret), msg, (size_t)n, mac);
	base64url_encode(mac, sizeof(mac), out);
}

bool
unsubscribe_headers(const struct config *cfg, const char *pid, char *out, size_t cap)
{
	char sig[TOKEN_STR_LEN];
	size_t len = strlen(cfg->public_url);
	int n;

	while (len > 0 && cfg->public_url[len - 1] == '/')
		len--;
	if (len == 0 || strspn(cfg->public_url, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuv"
	    "wxyz0123456789-._~:/[]@%") < len)
		return false;
	unsubscribe_signature(cfg, pid, sig);
	n = snprintf(out, cap, "List-Unsubscribe: <%.*s/api/desinscription?p=%s&s=%s>\n"
	    "List-Unsubscribe-Post: List-Unsubscribe=One-Click", (int)len, cfg->public_url, pid,
	    sig);
	return n > 0 && (size_t)n < cap;
}

int
participants_invite(struct db *db, const struct config *cfg, const char *id,
    const char *titre, const char *slug)
{
	const char *params[4] = { id, NULL, NULL, NULL };
	PGresult *res = db_exec(db, STMT_PARTICIPANTS_TO_INVITE, params), *upd;
	char token[TOKEN_STR_LEN], hash[2 * SHA256_LEN + 1], mail_id[24], headers[512];
	char salt[2 * INVITATION_SALT_LEN + 1];
	int i, n, queued = -1;

	if (!db_ok(res))
		goto fail;
	n = PQntuples(res);
	for (i = 0; i < n; i++) {
		const char *pid = db_text_or(res, i, "id", "");
		char *subject = NULL, *body = NULL;
		long long mid = 0;
		bool ok;

		if (!invitation_salt_new(salt) ||
		    !unsubscribe_headers(cfg, pid, headers, sizeof(headers)))
			goto fail;
		invitation_token_derive(cfg, pid, salt, token, hash);
		ok = message_invitation(cfg, titre, slug, db_text_or(res, i, "nom", ""), token,
		    &subject, &body) == 0 &&
		    outbox_enqueue_headers(db, MAIL_INVITATION, db_text_or(res, i, "email", ""),
		    subject, body, headers, &mid);
		free(subject);
		free(body);
		OPENSSL_cleanse(token, sizeof(token));
		if (!ok)
			goto fail;
		snprintf(mail_id, sizeof(mail_id), "%lld", mid);
		params[0] = pid;
		params[1] = hash;
		params[2] = mail_id;
		params[3] = salt;
		upd = db_exec(db, STMT_PARTICIPANT_INVITED, params);
		ok = db_ok(upd) && PQntuples(upd) == 1;
		PQclear(upd);
		if (!ok)
			goto fail;
	}
	queued = n;
fail:
	if (queued < 0)
		log_warn("%s: invitations non préparées : %s", __func__, db_error(db));
	PQclear(res);
	return queued;
}

enum api_error
participant_identity_kept(struct db *db, const struct locked_submission *row,
    const char *email, bool *kept)
{
	const char *params[1] = { row->id };
	PGresult *res = db_exec(db, STMT_SUBMISSION_CAMPAIGN_ACCESS, params);
	enum api_error e = ERR_NONE;

	*kept = false;
	if (!db_ok(res) || PQntuples(res) != 1)
		e = ERR_INTERNAL;
	else if (strcmp(db_text_or(res, 0, "acces", "ouvert"), "invites") == 0)
		*kept = true;
	PQclear(res);
	if (*kept && strcasecmp(email, row->email) != 0)
		e = ERR_INVITATION_EMAIL;
	return e;
}
