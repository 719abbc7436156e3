/* Composition of e-mails: no header injection, RFC 2047 subjects, CRLF bodies; the French
 * texts and their edit links. */
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "config.h"
#include "mail.h"
#include "outbox.h"
#include "unit.h"

/* 2025-01-02T03:04:05Z, a Thursday. */
#define NOW 1735787045LL

/* The header block of a message (up to the blank line), or NULL. */
static char *
headers_of(const char *msg)
{
	const char *end = strstr(msg, "\r\n\r\n");

	return end ? strndup(msg, (size_t)(end - msg) + 2) : NULL;
}

/* True when some header line (a line not starting with white space) begins with name. */
static bool
has_header_line(const char *headers, const char *name)
{
	const char *line = headers;
	size_t n = strlen(name);

	while (line != NULL && *line != '\0') {
		if (strncasecmp(line, name, n) == 0)
			return true;
		line = strstr(line, "\r\n");
		if (line != NULL)
			line += 2;
	}
	return false;
}

/* Every CR is followed by LF and every LF preceded by CR; header lines within 998 bytes. */
static bool
crlf_only(const char *s)
{
	const char *p;

	for (p = s; *p != '\0'; p++) {
		if (*p == '\r' && p[1] != '\n')
			return false;
		if (*p == '\n' && (p == s || p[-1] != '\r'))
			return false;
	}
	return true;
}

static size_t
longest_line(const char *s)
{
	size_t n, max = 0;

	while (*s != '\0') {
		n = strcspn(s, "\r\n");
		if (n > max)
			max = n;
		s += n;
		s += strspn(s, "\r\n");
	}
	return max;
}

static void
test_injection(void)
{
	static const struct {
		const char *from, *to, *subject;
	} cases[] = {
		{ "Fiable <fiable@example.org>", "camille@example.org",
		  "Bonjour\r\nBcc: x@evil.example" },
		{ "Fiable <fiable@example.org>", "camille@example.org",
		  "Bonjour\nBcc: x@evil.example" },
		{ "Fiable <fiable@example.org>", "camille@example.org",
		  "Bonjour\rBcc: x@evil.example" },
		{ "Fiable <fiable@example.org>", "camille@example.org",
		  "Réponse\r\nBcc: x@evil.example" },
		{ "Fiable <fiable@example.org>", "camille@example.org\r\nBcc: x@evil.example",
		  "Sujet" },
		{ "Fiable\r\nBcc: x@evil.example <fiable@example.org>", "camille@example.org",
		  "Sujet" },
		{ "Fiable <fiable@example.org>\r\nBcc: x@evil.example", "camille@example.org",
		  "Sujet" },
	};
	size_t i;
	char *msg, *h;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		msg = mail_format(cases[i].from, cases[i].to, cases[i].subject, "Corps\n", NOW,
		    "example.org");
		if (msg == NULL) {
			/* Refusing a malformed address is as good as neutralising it. */
			CHECK(strstr(cases[i].subject, "Bcc") == NULL,
			    "cas %zu : un sujet ne doit pas faire refuser le message", i);
			continue;
		}
		h = headers_of(msg);
		CHECK(h != NULL, "cas %zu : pas de fin d'en-têtes", i);
		if (h != NULL) {
			CHECK(!has_header_line(h, "Bcc:"), "cas %zu : en-tête Bcc injecté :\n%s", i, h);
			CHECK(crlf_only(h), "cas %zu : CR ou LF isolé dans les en-têtes", i);
		}
		CHECK(crlf_only(msg), "cas %zu : fin de ligne autre que CRLF", i);
		free(h);
		free(msg);
	}
}

static void
test_headers(void)
{
	char *msg, *h;
	const char *p;
	char subject[400];
	size_t i;

	msg = mail_format("Fiable <fiable@example.org>", "camille@example.org",
	    "Votre réponse est enregistrée", "Ligne 1\nLigne 2\n\nFin", NOW, "example.org");
	CHECK(msg != NULL, "mail_format a échoué");
	if (msg == NULL)
		return;
	h = headers_of(msg);
	CHECK(h != NULL, "pas de ligne vide après les en-têtes");
	if (h == NULL) {
		free(msg);
		return;
	}
	CHECK(strstr(h, "Date: Thu, 02 Jan 2025 03:04:05 +0000\r\n") != NULL, "Date :\n%s", h);
	CHECK(strstr(h, "From: Fiable <fiable@example.org>\r\n") != NULL, "From :\n%s", h);
	CHECK(strstr(h, "To: <camille@example.org>\r\n") != NULL, "To :\n%s", h);
	CHECK(strstr(h, "Subject: =?UTF-8?B?") != NULL, "sujet non encodé :\n%s", h);
	CHECK(strstr(h, "MIME-Version: 1.0\r\n") != NULL, "MIME-Version");
	CHECK(strstr(h, "Content-Type: text/plain; charset=UTF-8\r\n") != NULL, "Content-Type");
	CHECK(strstr(h, "Content-Transfer-Encoding: 8bit\r\n") != NULL, "encodage");
	p = strstr(h, "Message-ID: <");
	CHECK(p != NULL, "Message-ID absent");
	if (p != NULL) {
		p += strlen("Message-ID: <");
		CHECK(strspn(p, "0123456789abcdef") == 32 && strncmp(p + 32, "@example.org>\r\n",
		    15) == 0, "Message-ID mal formé : %.60s", p);
	}
	/* "Votre réponse est enregistrée" in UTF-8, base64. */
	CHECK(strstr(h, "=?UTF-8?B?Vm90cmUgcsOpcG9uc2UgZXN0IGVucmVnaXN0csOpZQ==?=") != NULL,
	    "sujet encodé inattendu :\n%s", h);
	CHECK(strstr(msg, "\r\n\r\nLigne 1\r\nLigne 2\r\n\r\nFin\r\n") != NULL &&
	    strcmp(msg + strlen(msg) - 5, "Fin\r\n") == 0, "corps en CRLF :\n%s", msg);
	CHECK(crlf_only(msg), "fin de ligne autre que CRLF");
	free(h);
	free(msg);

	/* Plain ASCII stays readable; a long subject is folded, a long UTF-8 one is split into
	 * encoded-words on character boundaries. */
	msg = mail_format("fiable@example.org", "Camille Dupont <camille@example.org>",
	    "Hello", "x", NOW, NULL);
	CHECK(msg != NULL && strstr(msg, "Subject: Hello\r\n") != NULL, "sujet ASCII");
	CHECK(msg != NULL && strstr(msg, "To: Camille Dupont <camille@example.org>\r\n") != NULL,
	    "nom affiché");
	CHECK(msg != NULL && strstr(msg, "From: <fiable@example.org>\r\n") != NULL, "From nu");
	CHECK(msg != NULL && strstr(msg, "@localhost>\r\n") != NULL, "domaine par défaut");
	free(msg);

	subject[0] = '\0';
	for (i = 0; i < 20; i++)
		strcat(subject, "créneau été ");
	msg = mail_format("Équipe Fiable <fiable@example.org>", "camille@example.org", subject,
	    "x", NOW, "example.org");
	CHECK(msg != NULL, "sujet long");
	if (msg != NULL) {
		h = headers_of(msg);
		CHECK(h != NULL && longest_line(h) <= 78, "ligne d'en-tête de plus de 78 caractères");
		CHECK(strstr(msg, "From: =?UTF-8?B?w4lxdWlwZSBGaWFibGU=?= <fiable@example.org>\r\n")
		    != NULL, "nom d'expéditeur non ASCII :\n%s", h ? h : "");
		CHECK(strstr(msg, "\r\n =?UTF-8?B?") != NULL, "sujet non replié");
		free(h);
		free(msg);
	}
	msg = mail_format("fiable@example.org", "camille@example.org",
	    "A rather long subject in plain ASCII that goes on and on past the limit of "
	    "seventy-eight characters per line", "x", NOW, "example.org");
	CHECK(msg != NULL && strstr(msg, "Subject: A rather") != NULL &&
	    strstr(msg, "\r\n ") != NULL, "sujet ASCII replié");
	if (msg != NULL) {
		h = headers_of(msg);
		CHECK(h != NULL && longest_line(h) <= 78, "sujet ASCII trop long sur une ligne");
		free(h);
	}
	free(msg);

	/* Something that looks like an encoded-word is encoded, not interpreted. */
	msg = mail_format("fiable@example.org", "camille@example.org", "=?UTF-8?B?QmNjOg==?=",
	    "x", NOW, "example.org");
	CHECK(msg != NULL && strstr(msg, "Subject: =?UTF-8?B?PT9VVEYtOD9CP1FtTmpPZz09Pz0=?=")
	    != NULL, "faux mot encodé");
	free(msg);

	CHECK(mail_format("fiable@example.org", "pas une adresse", "s", "b", NOW, NULL) == NULL,
	    "destinataire invalide accepté");
	CHECK(mail_format("fiable@example.org", "a@b@example.org", "s", "b", NOW, NULL) == NULL,
	    "deux @ acceptés");
	CHECK(mail_format("fiable@example.org", "<a b@example.org>", "s", "b", NOW, NULL) == NULL,
	    "espace dans l'adresse acceptée");
}

static void
test_messages(void)
{
	static const char token[] = "AbC-123_xyzAbC-123_xyzAbC-123_xyzAbC-123_x";
	const char *slots[] = { "2025-06-01-matin", "2025-06-02-apres-midi" };
	struct config cfg;
	char *subject, *body, link[128];

	memset(&cfg, 0, sizeof(cfg));
	cfg.public_url = "https://fiable.example.org/";
	snprintf(link, sizeof(link), "https://fiable.example.org/#edit=%s\n", token);

	CHECK(message_receipt(&cfg, "Camille\nLien : https://evil.example", slots, 2, token,
	    &subject, &body) == 0, "message_receipt");
	CHECK(strcmp(subject, "Votre réponse est enregistrée") == 0, "sujet : %s", subject);
	CHECK(strstr(body, link) != NULL, "lien absent :\n%s", body);
	CHECK(strstr(body, "#edit=") != NULL && strstr(body, "//#edit") == NULL,
	    "barre oblique finale de PUBLIC_URL gardée");
	CHECK(strstr(body, "2025-06-01-matin") != NULL && strstr(body, "2025-06-02-apres-midi"),
	    "créneaux absents");
	CHECK(strstr(body, "Bonjour Camille Lien") != NULL, "saut de ligne du nom gardé");
	CHECK(strstr(body, "\nLien : https://evil") == NULL, "nom qui ajoute une ligne");
	CHECK(strstr(body, "personnel") != NULL && strstr(body, "modifier") != NULL,
	    "texte français attendu :\n%s", body);
	free(subject);
	free(body);

	cfg.public_url = "http://127.0.0.1:8080";
	CHECK(message_edit_link(&cfg, NULL, NULL, "Élise", token, &subject, &body) == 0,
	    "message_edit_link");
	CHECK(strcmp(subject, "Votre lien pour modifier votre réponse") == 0, "sujet : %s",
	    subject);
	snprintf(link, sizeof(link), "http://127.0.0.1:8080/#edit=%s\n", token);
	CHECK(strstr(body, link) != NULL, "lien absent :\n%s", body);
	CHECK(strstr(body, "Bonjour Élise,") != NULL, "salutation");
	CHECK(strstr(body, "précédemment ne fonctionnent plus") != NULL, "anciens liens");
	free(subject);
	free(body);

	/* A campaign's own page, named by its title (a line break in it adds no line). */
	CHECK(message_edit_link(&cfg, "Jury\nde juin", "jury-juin", "Élise", token, &subject,
	    &body) == 0, "message_edit_link d'une campagne");
	snprintf(link, sizeof(link), "http://127.0.0.1:8080/c/jury-juin/#edit=%s\n", token);
	CHECK(strstr(body, link) != NULL, "lien de la campagne absent :\n%s", body);
	CHECK(strstr(body, "votre réponse à « Jury de juin »") != NULL, "titre absent :\n%s",
	    body);
	free(subject);
	free(body);

	CHECK(message_edit_link(&cfg, NULL, NULL, "x", "jeton invalide\n", &subject, &body) == -1 &&
	    subject == NULL && body == NULL, "jeton invalide accepté");
	CHECK(message_edit_link(&cfg, "T", "Pas/Une-Adresse", "x", token, &subject, &body) == -1 &&
	    subject == NULL && body == NULL, "adresse de campagne invalide acceptée");
}

static void
test_configured(void)
{
	struct config cfg;
	bool transient = false;
	char err[256];

	memset(&cfg, 0, sizeof(cfg));
	cfg.smtp_url = "";
	cfg.mail_dir = "";
	cfg.mail_from = "Fiable <fiable@localhost>";
	CHECK(!mail_configured(&cfg), "rien de configuré");
	CHECK(mail_send(&cfg, "a@example.org", "s", "b", &transient, err, sizeof(err)) == -1 &&
	    err[0] != '\0', "envoi sans configuration");
	cfg.mail_dir = "/nonexistent-parent/fiable-mail";
	CHECK(mail_configured(&cfg), "dossier configuré");
	CHECK(mail_send(&cfg, "a@example.org", "s", "b", &transient, err, sizeof(err)) == -1 &&
	    transient, "dossier impossible : échec temporaire");
	cfg.mail_dir = "";
	cfg.smtp_url = "smtp://user:secret-password@127.0.0.1:1";
	CHECK(mail_send(&cfg, "a@example.org", "s", "b", &transient, err, sizeof(err)) == -1 &&
	    strstr(err, "secret-password") == NULL, "mot de passe dans le message : %s", err);
	cfg.smtp_url = "smtp://127.0.0.1:1";
	cfg.smtp_user = "user";
	cfg.smtp_password = "secret-password";
	CHECK(mail_send(&cfg, "a@example.org", "s", "b", &transient, err, sizeof(err)) == -1 &&
	    transient && strstr(err, "secret-password") == NULL,
	    "connexion refusée : échec temporaire sans mot de passe (%s)", err);
	CHECK(mail_send(&cfg, "pas une adresse", "s", "b", &transient, err, sizeof(err)) == -1 &&
	    !transient, "destinataire invalide : échec définitif");
}

/* Quoted-printable decoded (soft breaks dropped, =XX as its octet), malloc'd. */
static char *
qp_decode(const char *s)
{
	char *out = malloc(strlen(s) + 1), *o = out;
	unsigned int c;

	while (out != NULL && *s != '\0') {
		if (s[0] == '=' && s[1] == '\r' && s[2] == '\n') {
			s += 3;
		} else if (s[0] == '=' && sscanf(s + 1, "%2X", &c) == 1) {
			*o++ = (char)c;
			s += 3;
		} else {
			*o++ = *s++;
		}
	}
	if (out != NULL)
		*o = '\0';
	return out;
}

/* RFC 5322 §2.1.1: no line over 998 octets, whatever the text (a campaign's introduction
 * in one paragraph, a long slot label): such a body goes quoted-printable, which decodes
 * back to the same text; a body of short lines stays 8bit. */
#define TAIL "fin \nDeuxième ligne.\n"
static void
test_long_lines(void)
{
	char *body = malloc(6000), *msg, *text, *decoded;
	const char *line, *head;
	size_t i, n, longest = 0;

	for (i = 0, n = 0; n < 5000; i++)
		n += (size_t)snprintf(body + n, 6000 - n, "Créneau n° %zu = présence ; ", i);
	memcpy(body + n, TAIL, sizeof(TAIL));
	msg = mail_format("fiable@example.org", "camille@example.org", "Sujet", body, NOW,
	    "example.org");
	CHECK(msg != NULL, "message d'une longue ligne");
	if (msg == NULL) {
		free(body);
		return;
	}
	for (line = msg; *line != '\0'; line += n + 2) {
		n = strcspn(line, "\r");
		if (n > longest)
			longest = n;
		if (line[n] == '\0')
			break;
	}
	CHECK(longest <= 78, "ligne de %zu octets dans le message", longest);
	head = strstr(msg, "\r\n\r\n");
	CHECK(head != NULL && strstr(msg, "Content-Transfer-Encoding: quoted-printable\r\n") != NULL &&
	    strstr(msg, "Content-Transfer-Encoding: quoted-printable\r\n") < head,
	    "en-tête quoted-printable");
	text = strdup(body);
	/* The expected text: line ends as CRLF. */
	decoded = head != NULL ? qp_decode(head + 4) : NULL;
	CHECK(decoded != NULL && strncmp(decoded, text, n = strlen(text) - strlen(TAIL)) == 0 &&
	    strcmp(decoded + n, "fin \r\nDeuxième ligne.\r\n") == 0, "le texte décodé diffère");
	free(decoded);
	free(text);
	free(msg);
	msg = mail_format("fiable@example.org", "camille@example.org", "Sujet",
	    "Ligne courte\nUne autre = égale\n", NOW, "example.org");
	CHECK(msg != NULL && strstr(msg, "Content-Transfer-Encoding: 8bit\r\n") != NULL &&
	    strstr(msg, "\r\n\r\nLigne courte\r\nUne autre = égale\r\n") != NULL,
	    "lignes courtes : 8bit, telles quelles");
	free(msg);
	free(body);
}

int
main(void)
{
	test_long_lines();
	test_injection();
	test_headers();
	test_messages();
	test_configured();
	return UNIT_END();
}
