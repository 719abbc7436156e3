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
	{ "{}", M(FIELD_EMAIL) | M(FIELD_NOM) | M(FIELD_CRENEAUX), "" },
	{ "{\"email\":\"pas-un-email\",\"nom\":\"\",\"creneaux\":[]}",
	  M(FIELD_EMAIL) | M(FIELD_NOM) | M(FIELD_CRENEAUX), "" },
	{ "{\"email\":1,\"nom\":[],\"creneaux\":\"x\",\"commentaire\":2}",
	  M(FIELD_EMAIL) | M(FIELD_NOM) | M(FIELD_CRENEAUX) | M(FIELD_COMMENTAIRE), "" },
	{ "{\"email\":\"a@b.be\",\"nom\":\"   \",\"creneaux\":[\"x\"]}", M(FIELD_NOM), "" },
	{ "{\"email\":\"a@b.be\",\"nom\":\"A\\u0001B\",\"creneaux\":[\"x\"]}", M(FIELD_NOM), "" },
	{ "{\"email\":\"a@b.be\",\"nom\":\"A\",\"creneaux\":[\"x\",\"x\"]}", M(FIELD_CRENEAUX), "" },
	{ "{\"email\":\"a@b.be\",\"nom\":\"A\",\"creneaux\":[1]}", M(FIELD_CRENEAUX), "" },
	{ "{\"email\":\"a@b.be\",\"nom\":\"A\",\"creneaux\":[\"X Y\"]}", M(FIELD_CRENEAUX), "" },
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
	CHECK(strcmp(s.email, "a@b.be") == 0 && strcmp(s.nom, "Élise") == 0 &&
	    strcmp(s.commentaire, "") == 0 && s.ncreneaux == 2 &&
	    strcmp(s.creneaux[1], "y") == 0, "valeurs validées");
	submission_free(&s);

	/* Lengths are counted in characters: 100 × "é" is 200 bytes but valid. */
	CHECK(nom_mask("é", 100) == 0, "100 caractères accentués");
	CHECK(nom_mask("é", 101) == M(FIELD_NOM), "101 caractères");
	CHECK(nom_mask("a", 100) == 0, "100 caractères");

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
