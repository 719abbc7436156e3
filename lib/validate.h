/* validate.h — declarative validation of a submission (kcgi style): one enum of fields,
 * one table of validators in validate.c, one French message per fault, built from the
 * limits below. Handlers only ever read the validated, trimmed values of struct submission.
 * The form reads the same limits and messages from GET /api/form (validate_rules_json). */
#ifndef FIABLE_VALIDATE_H
#define FIABLE_VALIDATE_H

#include <stdbool.h>
#include <stddef.h>

#include <cjson/cJSON.h>

/* The limits, in one place (characters, not bytes, for text). Plain decimal literals: the
 * messages of validate.c spell them with the preprocessor (VALIDATE_STR). */
#define EMAIL_MAX_LEN       254
#define EMAIL_LOCAL_MAX_LEN 64
#define NAME_MAX_CHARS      100
#define COMMENT_MAX_CHARS   2000
#define SLOTS_MAX           200
#define SLOT_ID_MAX_LEN     64

#define VALIDATE_STR_(x) #x
/* A limit macro as a string literal: VALIDATE_STR(NAME_MAX_CHARS) is "100". */
#define VALIDATE_STR(x) VALIDATE_STR_(x)

enum submission_field {
	FIELD_EMAIL,
	FIELD_NAME,         /* "nom" */
	FIELD_SLOTS,        /* "creneaux" */
	FIELD_COMMENT,      /* "commentaire" */
	FIELD__MAX
};

/* What can be wrong with a field. Not every field can have every fault. */
enum field_fault {
	FAULT_MISSING,      /* required and absent, null or blank */
	FAULT_TYPE,         /* not of the JSON type of the field */
	FAULT_CHARS,        /* not UTF-8, or a control character */
	FAULT_TOO_LONG,     /* longer than the field's limit */
	FAULT_INVALID,      /* malformed (an e-mail address, a slot id) */
	FAULT_TOO_MANY,     /* more items than the field's limit */
	FAULT_DUPLICATE,    /* one item given twice */
	FAULT__MAX
};

#define FIELD_ERROR_LEN 200

struct submission {
	char *email;
	char *name;
	char *comment;              /* "" when absent */
	char **slots;
	size_t nslots;
	char errors[FIELD__MAX][FIELD_ERROR_LEN]; /* "" when the field is valid */
	cJSON *unknown;             /* {"member": message} of members no field has, or NULL */
};

/* JSON name of a field ("email", "nom", ...). */
const char *submission_field_name(enum submission_field f);
/* The French message of a fault of a field, or NULL when the field cannot have it. */
const char *field_message(enum submission_field f, enum field_fault k);
/* Limits and messages of every field, for the browser ("regles" of GET /api/form):
 * {"nom": {"obligatoire": true, "longueur_max": 100, "messages": {"manquant": "...", ...}},
 * ...}. NULL when out of memory. */
cJSON *validate_rules_json(void);

/* Validates every field of a parsed body into s; returns the number of faulty fields, a
 * member that is no field counting as one. Always call submission_free afterwards. */
int submission_parse(const cJSON *root, struct submission *s);
void submission_free(struct submission *s);

/* Records a fault found later (an unknown slot, checked against the database). */
void submission_set_error(struct submission *s, enum submission_field f, const char *msg);
int submission_error_count(const struct submission *s);
/* {"field": "message", ...} of the faulty fields and unknown members, or NULL when none. */
cJSON *submission_errors_json(const struct submission *s);
/* The slots as a JSON array (for the jsonb column and the response). */
cJSON *submission_slots_json(const struct submission *s);

/* Building blocks, exposed for the tests. */
bool valid_email(const char *s);
bool valid_slot_id(const char *s);
/* Number of code points of valid UTF-8 text without control characters (newline and tab
 * allowed when multiline), or -1. */
long utf8_text_length(const char *s, bool multiline);
/* Copy of s without leading and trailing white space (malloc'd). */
char *trim_dup(const char *s);

#endif
