#include "validate.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "json.h"

typedef void (*field_validator)(const cJSON *item, struct submission *s);

static void check_email(const cJSON *item, struct submission *s);
static void check_name(const cJSON *item, struct submission *s);
static void check_slots(const cJSON *item, struct submission *s);
static void check_comment(const cJSON *item, struct submission *s);

#define S VALIDATE_STR

/* Indexed by enum submission_field. A message that names a limit spells its macro, so the
 * limit and its message cannot drift apart; the browser receives both (validate_rules_json). */
static const struct {
	const char *name;
	bool required;
	field_validator check;
	const char *limit_name;     /* JSON name of the limit for the browser */
	long limit;
	const char *messages[FAULT__MAX];
} fields[FIELD__MAX] = {
	[FIELD_EMAIL] = { "email", true, check_email, "longueur_max", EMAIL_MAX_LEN, {
		[FAULT_MISSING] = "Indiquez votre adresse e-mail.",
		[FAULT_TYPE] = "L’adresse e-mail doit être un texte.",
		[FAULT_TOO_LONG] = "L’adresse e-mail est trop longue ("
		    S(EMAIL_MAX_LEN) " caractères au plus).",
		[FAULT_INVALID] = "Cette adresse e-mail n’est pas valide "
		    "(exemple : prenom.nom@exemple.be).",
	} },
	[FIELD_NAME] = { "nom", true, check_name, "longueur_max", NAME_MAX_CHARS, {
		[FAULT_MISSING] = "Indiquez votre nom.",
		[FAULT_TYPE] = "Le nom doit être un texte.",
		[FAULT_CHARS] = "Le nom contient des caractères non autorisés.",
		[FAULT_TOO_LONG] = "Le nom est trop long (" S(NAME_MAX_CHARS) " caractères au plus).",
	} },
	[FIELD_SLOTS] = { "creneaux", true, check_slots, "nombre_max", SLOTS_MAX, {
		[FAULT_MISSING] = "Cochez au moins un créneau.",
		[FAULT_TYPE] = "Les créneaux doivent être une liste.",
		[FAULT_TOO_MANY] = "Trop de créneaux choisis (" S(SLOTS_MAX) " au plus).",
		[FAULT_INVALID] = "Un créneau choisi n’est pas valide.",
		[FAULT_DUPLICATE] = "Un même créneau est choisi deux fois.",
	} },
	[FIELD_COMMENT] = { "commentaire", false, check_comment, "longueur_max", COMMENT_MAX_CHARS, {
		[FAULT_TYPE] = "Le commentaire doit être un texte.",
		[FAULT_CHARS] = "Le commentaire contient des caractères non autorisés.",
		[FAULT_TOO_LONG] = "Le commentaire est trop long ("
		    S(COMMENT_MAX_CHARS) " caractères au plus).",
	} },
};

#undef S

/* JSON names of the faults, indexed by enum field_fault. */
static const char *const fault_names[FAULT__MAX] = {
	[FAULT_MISSING] = "manquant",
	[FAULT_TYPE] = "type",
	[FAULT_CHARS] = "caracteres",
	[FAULT_TOO_LONG] = "trop_long",
	[FAULT_INVALID] = "invalide",
	[FAULT_TOO_MANY] = "trop_nombreux",
	[FAULT_DUPLICATE] = "doublon",
};

static const char internal_error[] = "Erreur interne de validation.";

const char *
submission_field_name(enum submission_field f)
{
	return fields[f].name;
}

const char *
field_message(enum submission_field f, enum field_fault k)
{
	if ((unsigned)f >= FIELD__MAX || (unsigned)k >= FAULT__MAX)
		return NULL;
	return fields[f].messages[k];
}

cJSON *
validate_rules_json(void)
{
	cJSON *o, *rule, *msgs;
	int f, k;

	if ((o = cJSON_CreateObject()) == NULL)
		return NULL;
	for (f = 0; f < FIELD__MAX; f++) {
		if ((rule = cJSON_AddObjectToObject(o, fields[f].name)) == NULL ||
		    cJSON_AddBoolToObject(rule, "obligatoire", fields[f].required) == NULL ||
		    cJSON_AddNumberToObject(rule, fields[f].limit_name,
		    (double)fields[f].limit) == NULL ||
		    (msgs = cJSON_AddObjectToObject(rule, "messages")) == NULL)
			goto fail;
		for (k = 0; k < FAULT__MAX; k++)
			if (fields[f].messages[k] != NULL &&
			    cJSON_AddStringToObject(msgs, fault_names[k],
			    fields[f].messages[k]) == NULL)
				goto fail;
	}
	return o;
fail:
	cJSON_Delete(o);
	return NULL;
}

/* Records the table's message of fault k of field f. */
static void
set_fault(struct submission *s, enum submission_field f, enum field_fault k)
{
	submission_set_error(s, f, fields[f].messages[k]);
}

void
submission_set_error(struct submission *s, enum submission_field f, const char *msg)
{
	snprintf(s->errors[f], FIELD_ERROR_LEN, "%s", msg);
}

char *
trim_dup(const char *s)
{
	size_t len;
	char *out;

	while (*s == ' ' || *s == '\t' || *s == '\n' || *s == '\r')
		s++;
	len = strlen(s);
	while (len > 0 && (s[len - 1] == ' ' || s[len - 1] == '\t' ||
	    s[len - 1] == '\n' || s[len - 1] == '\r'))
		len--;
	if ((out = malloc(len + 1)) == NULL)
		return NULL;
	memcpy(out, s, len);
	out[len] = '\0';
	return out;
}

long
utf8_text_length(const char *str, bool multiline)
{
	const unsigned char *p = (const unsigned char *)str;
	long count = 0;

	while (*p != '\0') {
		uint32_t cp;
		int n, i;

		if (*p < 0x80) {
			cp = *p;
			n = 1;
		} else if ((*p & 0xe0) == 0xc0) {
			cp = *p & 0x1f;
			n = 2;
		} else if ((*p & 0xf0) == 0xe0) {
			cp = *p & 0x0f;
			n = 3;
		} else if ((*p & 0xf8) == 0xf0) {
			cp = *p & 0x07;
			n = 4;
		} else {
			return -1;
		}
		for (i = 1; i < n; i++) {
			if ((p[i] & 0xc0) != 0x80)
				return -1;
			cp = cp << 6 | (p[i] & 0x3f);
		}
		/* Overlong forms, surrogates and values past U+10FFFF are not UTF-8. */
		if ((n == 2 && cp < 0x80) || (n == 3 && cp < 0x800) ||
		    (n == 4 && cp < 0x10000) || cp > 0x10ffff ||
		    (cp >= 0xd800 && cp <= 0xdfff))
			return -1;
		/* C0 and C1 controls and DEL; a comment may keep its line breaks and tabs. */
		if (cp < 0x20 || (cp >= 0x7f && cp < 0xa0)) {
			if (!(multiline && (cp == '\n' || cp == '\t' || cp == '\r')))
				return -1;
		}
		p += n;
		count++;
	}
	return count;
}

/* Local part: dot-atoms of RFC 5322 atext; domain: LDH labels with a TLD of letters. */
bool
valid_email(const char *s)
{
	static const char atext[] = "!#$%&'*+-/=?^_`{|}~";
	const char *at = strrchr(s, '@'), *p, *label;
	size_t len = strlen(s), llen;

	if (at == NULL || len > EMAIL_MAX_LEN)
		return false;
	llen = (size_t)(at - s);
	if (llen == 0 || llen > EMAIL_LOCAL_MAX_LEN || s[0] == '.' || at[-1] == '.')
		return false;
	for (p = s; p < at; p++) {
		unsigned char c = (unsigned char)*p;
		if (c == '.') {
			if (p[1] == '.')
				return false;
		} else if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		    (c >= '0' && c <= '9') || (c != '\0' && strchr(atext, c) != NULL))) {
			return false;
		}
	}
	label = at + 1;
	if (*label == '\0' || strchr(label, '.') == NULL)
		return false;
	for (;;) {
		size_t n = strcspn(label, ".");
		bool alpha_only = true;
		size_t i;

		if (n == 0 || n > 63 || label[0] == '-' || label[n - 1] == '-')
			return false;
		for (i = 0; i < n; i++) {
			unsigned char c = (unsigned char)label[i];
			bool letter = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
			if (!letter && !(c >= '0' && c <= '9') && c != '-')
				return false;
			if (!letter)
				alpha_only = false;
		}
		if (label[n] == '\0')
			return n >= 2 && alpha_only;	/* the TLD */
		label += n + 1;
	}
}

bool
valid_slot_id(const char *s)
{
	size_t i, len = strlen(s);

	if (len == 0 || len > SLOT_ID_MAX_LEN)
		return false;
	for (i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];
		bool alnum = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
		if (!alnum && (i == 0 || (c != '-' && c != '_')))
			return false;
	}
	return true;
}

static void
check_email(const cJSON *item, struct submission *s)
{
	if (!cJSON_IsString(item)) {
		set_fault(s, FIELD_EMAIL, FAULT_TYPE);
		return;
	}
	if ((s->email = trim_dup(item->valuestring)) == NULL)
		return;
	if (s->email[0] == '\0')
		set_fault(s, FIELD_EMAIL, FAULT_MISSING);
	else if (strlen(s->email) > EMAIL_MAX_LEN)
		set_fault(s, FIELD_EMAIL, FAULT_TOO_LONG);
	else if (!valid_email(s->email))
		set_fault(s, FIELD_EMAIL, FAULT_INVALID);
}

static void
check_name(const cJSON *item, struct submission *s)
{
	long n;

	if (!cJSON_IsString(item)) {
		set_fault(s, FIELD_NAME, FAULT_TYPE);
		return;
	}
	if ((s->name = trim_dup(item->valuestring)) == NULL)
		return;
	n = utf8_text_length(s->name, false);
	if (n < 0)
		set_fault(s, FIELD_NAME, FAULT_CHARS);
	else if (n == 0)
		set_fault(s, FIELD_NAME, FAULT_MISSING);
	else if (n > NAME_MAX_CHARS)
		set_fault(s, FIELD_NAME, FAULT_TOO_LONG);
}

static void
check_comment(const cJSON *item, struct submission *s)
{
	long n;

	if (cJSON_IsNull(item))
		return;
	if (!cJSON_IsString(item)) {
		set_fault(s, FIELD_COMMENT, FAULT_TYPE);
		return;
	}
	free(s->comment);
	if ((s->comment = trim_dup(item->valuestring)) == NULL)
		return;
	n = utf8_text_length(s->comment, true);
	if (n < 0)
		set_fault(s, FIELD_COMMENT, FAULT_CHARS);
	else if (n > COMMENT_MAX_CHARS)
		set_fault(s, FIELD_COMMENT, FAULT_TOO_LONG);
}

static void
check_slots(const cJSON *item, struct submission *s)
{
	const cJSON *it;
	int n, i;
	size_t j;

	if (!cJSON_IsArray(item)) {
		set_fault(s, FIELD_SLOTS, FAULT_TYPE);
		return;
	}
	n = cJSON_GetArraySize(item);
	if (n == 0) {
		set_fault(s, FIELD_SLOTS, FAULT_MISSING);
		return;
	}
	if (n > SLOTS_MAX) {
		set_fault(s, FIELD_SLOTS, FAULT_TOO_MANY);
		return;
	}
	if ((s->slots = calloc((size_t)n, sizeof(*s->slots))) == NULL)
		return;
	i = 0;
	cJSON_ArrayForEach(it, item) {
		if (!cJSON_IsString(it) || !valid_slot_id(it->valuestring)) {
			set_fault(s, FIELD_SLOTS, FAULT_INVALID);
			return;
		}
		for (j = 0; j < s->nslots; j++)
			if (strcmp(s->slots[j], it->valuestring) == 0) {
				set_fault(s, FIELD_SLOTS, FAULT_DUPLICATE);
				return;
			}
		if ((s->slots[i] = strdup(it->valuestring)) == NULL)
			return;
		s->nslots = (size_t)++i;
	}
}

/* Members of root that are no field of the table go to s->unknown. -1 when out of memory. */
static int
submission_check_members(const cJSON *root, struct submission *s)
{
	const char *names[FIELD__MAX];
	int f, n;

	for (f = 0; f < FIELD__MAX; f++)
		names[f] = fields[f].name;
	if ((s->unknown = cJSON_CreateObject()) == NULL)
		return -1;
	n = json_unknown_members(root, names, FIELD__MAX, s->unknown);
	if (n <= 0) {
		cJSON_Delete(s->unknown);
		s->unknown = NULL;
	}
	return n;
}

int
submission_parse(const cJSON *root, struct submission *s)
{
	int f;

	memset(s, 0, sizeof(*s));
	s->comment = strdup("");
	for (f = 0; f < FIELD__MAX; f++) {
		const cJSON *item = cJSON_GetObjectItemCaseSensitive(root, fields[f].name);
		if (item == NULL || (cJSON_IsNull(item) && fields[f].required)) {
			if (fields[f].required)
				set_fault(s, (enum submission_field)f, FAULT_MISSING);
			continue;
		}
		fields[f].check(item, s);
	}
	if (submission_check_members(root, s) < 0)
		submission_set_error(s, FIELD_NAME, internal_error);
	/* An allocation failure leaves a required value NULL: refuse rather than store less. */
	if (s->comment == NULL || (s->errors[FIELD_EMAIL][0] == '\0' && s->email == NULL) ||
	    (s->errors[FIELD_NAME][0] == '\0' && s->name == NULL) ||
	    (s->errors[FIELD_SLOTS][0] == '\0' && s->nslots == 0))
		submission_set_error(s, FIELD_NAME, internal_error);
	return submission_error_count(s);
}

int
submission_error_count(const struct submission *s)
{
	int f, n = 0;

	for (f = 0; f < FIELD__MAX; f++)
		if (s->errors[f][0] != '\0')
			n++;
	return n + (s->unknown != NULL ? cJSON_GetArraySize(s->unknown) : 0);
}

cJSON *
submission_errors_json(const struct submission *s)
{
	const cJSON *m;
	cJSON *o;
	int f;

	if (submission_error_count(s) == 0 || (o = cJSON_CreateObject()) == NULL)
		return NULL;
	for (f = 0; f < FIELD__MAX; f++)
		if (s->errors[f][0] != '\0')
			cJSON_AddStringToObject(o, fields[f].name, s->errors[f]);
	for (m = s->unknown != NULL ? s->unknown->child : NULL; m != NULL; m = m->next)
		cJSON_AddStringToObject(o, m->string, m->valuestring);
	return o;
}

cJSON *
submission_slots_json(const struct submission *s)
{
	return cJSON_CreateStringArray((const char *const *)s->slots, (int)s->nslots);
}

void
submission_free(struct submission *s)
{
	size_t i;

	free(s->email);
	free(s->name);
	free(s->comment);
	for (i = 0; i < s->nslots; i++)
		free(s->slots[i]);
	free(s->slots);
	cJSON_Delete(s->unknown);
	memset(s, 0, sizeof(*s));
}
