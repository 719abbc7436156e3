/* Validation of a submission: every rule, valid and invalid cases. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "json.h"
#include "unit.h"
#include "validate.h"

static const struct { const char *email; bool ok; } emails[] = {
	{ "alice@example.org", true },
	{ "Alice.Dupont@Institution.BE", true },
	{ "a+tag@sub.example.co", true },
	{ "o'brien@example.ie", true },
	{ "x@y.zz", true },
	{ "", false },
	{ "alice", false },
	{ "alice@", false },
	{ "@example.org", false },
	{ "alice@example", false },
	{ "alice@example.c", false },
	{ "alice@example.123", false },
	{ "al ice@example.org", false },
	{ "alice@exa mple.org", false },
	{ ".alice@example.org", false },
	{ "alice.@example.org", false },
	{ "al..ice@example.org", false },
	{ "alice@-example.org", false },
	{ "alice@example-.org", false },
	{ "alice@example..org", false },
	{ "alice@@example.org", false },
	{ "alice@exam_ple.org", false },
	{ "<script>@example.org", false },
	{ "alice\n@example.org", false },
	{ "élise@example.org", false },
	{ "p@exemple.xn--p1ai", true },          /* .рф */
	{ "p@XN--exemple-9ua.XN--P1AI", true },
	{ "p@exemple.xn--", false },
	{ "p@exemple.xn--p1ai-", false },
	{ "p@exemple.xn-p1ai", false },
	{ "p@exemple.xn--p1_ai", false },
};

static const struct { const char *id; bool ok; } slots[] = {
	{ "2026-11-24-matin", true },
	{ "a", true },
	{ "slot_1", true },
	{ "0123456789012345678901234567890123456789012345678901234567890123", true },
	{ "01234567890123456789012345678901234567890123456789012345678901234", false },
	{ "", false },
	{ "-debut", false },
	{ "Majuscule", false },
	{ "avec espace", false },
	{ "x'; DROP TABLE creneaux;--", false },
	{ "é", false },
};

static const struct { const char *text; bool multiline; long len; } texts[] = {
	{ "Alice", false, 5 },
	{ "Élise Müller", false, 12 },
	{ "日本語", false, 3 },
	{ "emoji 😀", false, 7 },
	{ "", false, 0 },
	{ "ligne\nligne", false, -1 },
	{ "ligne\nligne\tx", true, 13 },
	{ "bell\a", true, -1 },
	{ "del\x7f", false, -1 },
	{ "c1\xc2\x85", false, -1 },
	{ "bad\xff", false, -1 },
	{ "overlong\xc0\xaf", false, -1 },
	{ "surrogate\xed\xa0\x80", false, -1 },
	{ "truncated\xe2\x82", false, -1 },
	{ "toolarge\xf4\x90\x80\x80", false, -1 },
};

/* Parses body and validates it; returns the error count and the faulty field mask. */
static int
parse(const char *body, unsigned *mask, struct submission *s)
{
	cJSON *root = json_parse_object(body, strlen(body));
	int n, f;

	*mask = 0;
	if (root == NULL)
		return -1;
	n = submission_parse(root, s);
	cJSON_Delete(root);
	for (f = 0; f < FIELD__MAX; f++)
		if (s->errors[f][0] != '\0')
			*mask |= 1u << f;
	return n;
}

#define M(f) (1u << (f))

/* Each body, its faulty fields and the unknown members named with them (comma-separated). */
static const struct { const char *body; unsigned mask; const char *unknown; } bodies[] = {
	{ "{\"email\":\"a@b.be\",\"nom\":\"A\",\"creneaux\":[\"x\"]}", 0, "" },
	{ "{\"email\":\"  a@b.be \",\"nom\":\"  A  \",\"creneaux\":[\"x\",\"y\"],"
	  "\"commentaire\":\"ok\"}", 0, "" },
	{ "{\"email\":\"a@b.be\",\"nom\":\"A\",\"creneaux\":[\"x\"],\"commentaire\":null}", 0, "" },
	{ "{}", M(FIELD_EMAIL) | M(FIELD_NAME) | M(FIELD_SLOTS), "" },
	{ "{\"email\":\"pas-un-email\",\"nom\":\"\",\"creneaux\":[]}",
	  M(FIELD_EMAIL) | M(FIELD_NAME) | M(FIELD_SLOTS), "" },
	{ "{\"email\":1,\"nom\":[],\"creneaux\":\"x\",\"commentaire\":2}",
	  M(FIELD_EMAIL) | M(FIELD_NAME) | M(FIELD_SLOTS) | M(FIELD_COMMENT), "" },
	{ "{\"email\":\"a@b.be\",\"nom\":\"   \",\"creneaux\":[\"x\"]}", M(FIELD_NAME), "" },
	{ "{\"email\":\"a@b.be\",\"nom\":\"A\\u0001B\",\"creneaux\":[\"x\"]}", M(FIELD_NAME), "" },
	{ "{\"email\":\"a@b.be\",\"nom\":\"A\",\"creneaux\":[\"x\",\"x\"]}", M(FIELD_SLOTS), "" },
	{ "{\"email\":\"a@b.be\",\"nom\":\"A\",\"creneaux\":[1]}", M(FIELD_SLOTS), "" },
	{ "{\"email\":\"a@b.be\",\"nom\":\"A\",\"creneaux\":[\"X Y\"]}", M(FIELD_SLOTS), "" },
	{ "{\"email\":null,\"nom\":\"A\",\"creneaux\":[\"x\"]}", M(FIELD_EMAIL), "" },
	/* A member no field has is refused and named: a misspelled comment is not dropped. */
	{ "{\"email\":\"a@b.be\",\"nom\":\"A\",\"creneaux\":[\"x\"],\"commentair\":\"texte\"}",
	  0, "commentair" },
	{ "{\"email\":\"a@b.be\",\"nom\":\"A\",\"creneaux\":[\"x\"],\"Commentaire\":\"t\"}",
	  0, "Commentaire" },
	{ "{\"email\":\"a@b.be\",\"nom\":\"A\",\"creneaux\":[\"x\"],\"version\":9,\"id\":1,"
	  "\"deleted_at\":null}", 0, "version,id,deleted_at" },
	/* Every fault at once: the fields' and the unknown members'. */
	{ "{\"mail\":\"a@b.be\",\"nom\":\"A\",\"creneaux\":[\"x\"]}", M(FIELD_EMAIL), "mail" },
};

/* Each fault of the table: a body that has it, and the field that reports it with the
 * table's message (the one the browser receives too). */
static const struct {
	const char *body;
	enum submission_field field;
	enum field_fault fault;
} faults[] = {
	{ "{\"nom\":\"A\",\"creneaux\":[\"x\"]}", FIELD_EMAIL, FAULT_MISSING },
	{ "{\"email\":\" \",\"nom\":\"A\",\"creneaux\":[\"x\"]}", FIELD_EMAIL, FAULT_MISSING },
	{ "{\"email\":1,\"nom\":\"A\",\"creneaux\":[\"x\"]}", FIELD_EMAIL, FAULT_TYPE },
	{ "{\"email\":\"a@b\",\"nom\":\"A\",\"creneaux\":[\"x\"]}", FIELD_EMAIL, FAULT_INVALID },
	{ "{\"email\":\"a@b.be\",\"nom\":null,\"creneaux\":[\"x\"]}", FIELD_NAME, FAULT_MISSING },
	{ "{\"email\":\"a@b.be\",\"nom\":true,\"creneaux\":[\"x\"]}", FIELD_NAME, FAULT_TYPE },
	{ "{\"email\":\"a@b.be\",\"nom\":\"A\\tB\",\"creneaux\":[\"x\"]}", FIELD_NAME, FAULT_CHARS },
	{ "{\"email\":\"a@b.be\",\"nom\":\"A\"}", FIELD_SLOTS, FAULT_MISSING },
	{ "{\"email\":\"a@b.be\",\"nom\":\"A\",\"creneaux\":[]}", FIELD_SLOTS, FAULT_MISSING },
	{ "{\"email\":\"a@b.be\",\"nom\":\"A\",\"creneaux\":{}}", FIELD_SLOTS, FAULT_TYPE },
	{ "{\"email\":\"a@b.be\",\"nom\":\"A\",\"creneaux\":[\"-x\"]}", FIELD_SLOTS, FAULT_INVALID },
	{ "{\"email\":\"a@b.be\",\"nom\":\"A\",\"creneaux\":[\"x\",\"y\",\"x\"]}",
	  FIELD_SLOTS, FAULT_DUPLICATE },
	{ "{\"email\":\"a@b.be\",\"nom\":\"A\",\"creneaux\":[\"x\"],\"commentaire\":[]}",
	  FIELD_COMMENT, FAULT_TYPE },
	{ "{\"email\":\"a@b.be\",\"nom\":\"A\",\"creneaux\":[\"x\"],\"commentaire\":\"\\u0007\"}",
	  FIELD_COMMENT, FAULT_CHARS },
};

/* The limit of each field as the browser receives it, and the text its message must name. */
static const struct {
	enum submission_field field;
	const char *limit_name;
	long limit;
	enum field_fault fault;
	const char *text;
} limits[] = {
	{ FIELD_EMAIL, "longueur_max", EMAIL_MAX_LEN, FAULT_TOO_LONG, "(254 caractères au plus)" },
	{ FIELD_NAME, "longueur_max", NAME_MAX_CHARS, FAULT_TOO_LONG, "(100 caractères au plus)" },
	{ FIELD_SLOTS, "nombre_max", SLOTS_MAX, FAULT_TOO_MANY, "(200 au plus)" },
	{ FIELD_COMMENT, "longueur_max", COMMENT_MAX_CHARS, FAULT_TOO_LONG,
	  "(2000 caractères au plus)" },
};

static char *
repeat(const char *unit, size_t n)
{
	size_t len = strlen(unit), i;
	char *s = malloc(len * n + 1);

	for (i = 0; i < n; i++)
		memcpy(s + i * len, unit, len);
	s[len * n] = '\0';
	return s;
}

/* Builds a body whose nom is n copies of unit, and validates it. */
static unsigned
nom_mask(const char *unit, size_t n)
{
	char *nom = repeat(unit, n), *body = malloc(strlen(nom) + 128);
	struct submission s;
	unsigned mask;

	sprintf(body, "{\"email\":\"a@b.be\",\"nom\":\"%s\",\"creneaux\":[\"x\"]}", nom);
	parse(body, &mask, &s);
	submission_free(&s);
	free(nom);
	free(body);
	return mask;
}

int
main(void)
{
	struct submission s;
	unsigned mask;
	size_t i;
	char *local, *longmail;
	cJSON *errs;

	for (i = 0; i < sizeof(emails) / sizeof(emails[0]); i++)
		CHECK(valid_email(emails[i].email) == emails[i].ok, "email « %s »", emails[i].email);
	local = repeat("a", 65);
	longmail = malloc(300);
	sprintf(longmail, "%s@example.org", local);
	CHECK(!valid_email(longmail), "partie locale de 65 caractères");
	free(local);
	local = repeat("a", 64);
	sprintf(longmail, "%s@example.org", local);
	CHECK(valid_email(longmail), "partie locale de 64 caractères");
	free(local);
	free(longmail);

	for (i = 0; i < sizeof(slots) / sizeof(slots[0]); i++)
		CHECK(valid_slot_id(slots[i].id) == slots[i].ok, "créneau « %s »", slots[i].id);
	for (i = 0; i < sizeof(texts) / sizeof(texts[0]); i++)
		CHECK(utf8_text_length(texts[i].text, texts[i].multiline) == texts[i].len,
		    "texte n°%zu : %ld au lieu de %ld", i,
		    utf8_text_length(texts[i].text, texts[i].multiline), texts[i].len);

	for (i = 0; i < sizeof(bodies) / sizeof(bodies[0]); i++) {
		int n = parse(bodies[i].body, &mask, &s), expected = 0, f;
		char unknown[200] = "";
		const cJSON *m;
		size_t o = 0;

		CHECK(n >= 0 && mask == bodies[i].mask, "corps %s : masque %#x au lieu de %#x",
		    bodies[i].body, mask, bodies[i].mask);
		errs = submission_errors_json(&s);
		CHECK((errs == NULL) == (bodies[i].mask == 0 && bodies[i].unknown[0] == '\0'),
		    "erreurs JSON pour %s", bodies[i].body);
		/* The unknown members follow the fields, in the body's order, each with the
		 * message of json.h. */
		for (f = 0; f < FIELD__MAX; f++)
			expected += (mask & M(f)) != 0;
		for (m = errs != NULL ? errs->child : NULL; m != NULL; m = m->next) {
			if (expected-- > 0)
				continue;
			CHECK(strcmp(m->valuestring, json_unknown_member_message) == 0,
			    "message de « %s »", m->string);
			o += (size_t)snprintf(unknown + o, sizeof(unknown) - o, "%s%s", o ? "," : "",
			    m->string);
		}
		CHECK(strcmp(unknown, bodies[i].unknown) == 0, "corps %s : inconnus « %s » au lieu "
		    "de « %s »", bodies[i].body, unknown, bodies[i].unknown);
		CHECK(n == submission_error_count(&s) && n == (errs ? cJSON_GetArraySize(errs) : 0),
		    "compte pour %s", bodies[i].body);
		cJSON_Delete(errs);
		submission_free(&s);
	}

	/* Trimming and the values handlers read. */
	CHECK(parse("{\"email\":\" a@b.be \",\"nom\":\" Élise \",\"creneaux\":[\"x\",\"y\"]}",
	    &mask, &s) == 0, "corps valide");
	CHECK(strcmp(s.email, "a@b.be") == 0 && strcmp(s.name, "Élise") == 0 &&
	    strcmp(s.comment, "") == 0 && s.nslots == 2 &&
	    strcmp(s.slots[1], "y") == 0, "valeurs validées");
	submission_free(&s);

	/* Lengths are counted in characters: 100 × "é" is 200 bytes but valid. */
	CHECK(nom_mask("é", 100) == 0, "100 caractères accentués");
	CHECK(nom_mask("é", 101) == M(FIELD_NAME), "101 caractères");
	CHECK(nom_mask("a", 100) == 0, "100 caractères");

	/* Each fault gives the table's message under its field, and only that field. */
	for (i = 0; i < sizeof(faults) / sizeof(faults[0]); i++) {
		const char *want = field_message(faults[i].field, faults[i].fault);
		int n = parse(faults[i].body, &mask, &s);

		CHECK(want != NULL && n == 1 && mask == M(faults[i].field) &&
		    strcmp(s.errors[faults[i].field], want) == 0, "faute n°%zu (%s) : « %s »", i,
		    faults[i].body, s.errors[faults[i].field]);
		submission_free(&s);
	}

	/* Past each limit, the message that spells it; the rules for the browser carry both. */
	{
		char *nom = repeat("a", NAME_MAX_CHARS + 1), *comment = repeat("a", COMMENT_MAX_CHARS + 1);
		char *ids = repeat("\"x\",", SLOTS_MAX + 1);
		char *body = malloc(strlen(comment) + strlen(ids) + 256);
		cJSON *rules = validate_rules_json(), *r;

		sprintf(body, "{\"email\":\"a@b.be\",\"nom\":\"%s\",\"creneaux\":[\"x\"]}", nom);
		parse(body, &mask, &s);
		CHECK(strcmp(s.errors[FIELD_NAME], field_message(FIELD_NAME, FAULT_TOO_LONG)) == 0,
		    "nom trop long : « %s »", s.errors[FIELD_NAME]);
		submission_free(&s);
		sprintf(body, "{\"email\":\"a@b.be\",\"nom\":\"A\",\"creneaux\":[\"x\"],"
		    "\"commentaire\":\"%s\"}", comment);
		parse(body, &mask, &s);
		CHECK(strcmp(s.errors[FIELD_COMMENT], field_message(FIELD_COMMENT, FAULT_TOO_LONG)) == 0,
		    "commentaire trop long : « %s »", s.errors[FIELD_COMMENT]);
		submission_free(&s);
		ids[strlen(ids) - 1] = '\0';	/* the last comma */
		sprintf(body, "{\"email\":\"a@b.be\",\"nom\":\"A\",\"creneaux\":[%s]}", ids);
		parse(body, &mask, &s);
		CHECK(strcmp(s.errors[FIELD_SLOTS], field_message(FIELD_SLOTS, FAULT_TOO_MANY)) == 0,
		    "trop de créneaux : « %s »", s.errors[FIELD_SLOTS]);
		submission_free(&s);
		free(nom);
		free(comment);
		free(ids);
		free(body);

		CHECK(rules != NULL && cJSON_GetArraySize(rules) == FIELD__MAX, "une règle par champ");
		for (i = 0; i < sizeof(limits) / sizeof(limits[0]); i++) {
			const char *msg = field_message(limits[i].field, limits[i].fault);
			const cJSON *lim, *m;

			r = cJSON_GetObjectItemCaseSensitive(rules, submission_field_name(limits[i].field));
			lim = cJSON_GetObjectItemCaseSensitive(r, limits[i].limit_name);
			CHECK(cJSON_IsNumber(lim) && lim->valuedouble == (double)limits[i].limit,
			    "limite de %s", submission_field_name(limits[i].field));
			CHECK(msg != NULL && strstr(msg, limits[i].text) != NULL, "message « %s »", msg);
			m = cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(r,
			    "messages"), limits[i].fault == FAULT_TOO_MANY ? "trop_nombreux" : "trop_long");
			CHECK(cJSON_IsString(m) && msg != NULL && strcmp(m->valuestring, msg) == 0,
			    "message servi pour %s", submission_field_name(limits[i].field));
		}
		/* Every message of the table is served, and nothing else. */
		for (i = 0; i < FIELD__MAX; i++) {
			const cJSON *msgs;
			int k, count = 0;

			r = cJSON_GetObjectItemCaseSensitive(rules,
			    submission_field_name((enum submission_field)i));
			msgs = cJSON_GetObjectItemCaseSensitive(r, "messages");
			for (k = 0; k < FAULT__MAX; k++)
				count += field_message((enum submission_field)i,
				    (enum field_fault)k) != NULL;
			CHECK(cJSON_IsObject(msgs) && cJSON_GetArraySize(msgs) == count,
			    "%d messages pour %s", count, submission_field_name((enum submission_field)i));
			CHECK(cJSON_IsBool(cJSON_GetObjectItemCaseSensitive(r, "obligatoire")),
			    "obligatoire pour %s", submission_field_name((enum submission_field)i));
		}
		CHECK(cJSON_IsFalse(cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(
		    rules, "commentaire"), "obligatoire")), "commentaire facultatif");
		CHECK(field_message(FIELD_COMMENT, FAULT_MISSING) == NULL &&
		    field_message(FIELD__MAX, FAULT_TYPE) == NULL &&
		    field_message(FIELD_NAME, FAULT__MAX) == NULL, "pas de message hors table");
		cJSON_Delete(rules);
	}

	/* Every message is French and named after its field. */
	parse("{}", &mask, &s);
	errs = submission_errors_json(&s);
	CHECK(cJSON_GetObjectItem(errs, "email") != NULL && cJSON_GetObjectItem(errs, "nom") != NULL &&
	    cJSON_GetObjectItem(errs, "creneaux") != NULL, "champs nommés");
	CHECK(strstr(cJSON_GetObjectItem(errs, "creneaux")->valuestring, "créneau") != NULL,
	    "message en français");
	cJSON_Delete(errs);
	submission_free(&s);

	return UNIT_END();
}
