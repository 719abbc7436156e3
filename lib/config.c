#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "crypto.h"

/* The one list of settings: name, default (NULL = required), meaning. */
static const struct {
	const char *name;
	const char *def;
	const char *help;
} settings[] = {
	{ "FIABLE_DATABASE_URL", "dbname=fiable user=fiable_app",
	  "connexion libpq (rôle applicatif fiable_app, jamais un superutilisateur)" },
	{ "FIABLE_SECRET", NULL,
	  "64 chiffres hexadécimaux (32 octets aléatoires : openssl rand -hex 32) ; dérive les jetons" },
	{ "FIABLE_TIMEZONE", "Europe/Brussels", "fuseau horaire de l'institution" },
	{ "PUBLIC_URL", "http://127.0.0.1:8080", "adresse publique du formulaire (origine acceptée)" },
	{ "FIABLE_ALLOWED_ORIGINS", "",
	  "autres origines acceptées, séparées par des virgules (https://exemple.be,...)" },
	{ "FIABLE_MAX_BODY_BYTES", "65536", "taille maximale du corps d'une requête (1024 à 1048576)" },
	{ "SMTP_URL", "",
	  "serveur d'envoi : smtp://hôte:587 (STARTTLS exigé) ou smtps://hôte:465 ; vide = pas de SMTP" },
	{ "SMTP_USER", "", "identifiant SMTP (vide = sans authentification)" },
	{ "SMTP_PASSWORD", "", "mot de passe SMTP (jamais journalisé)" },
	{ "MAIL_FROM", "Fiable <fiable@localhost>", "expéditeur des messages" },
	{ "FIABLE_MAIL_DIR", "",
	  "sans SMTP_URL : dossier où chaque message est écrit en fichier .eml ; vide = pas d'envoi" },
};

static const char *
setting(const char *name)
{
	const char *v = getenv(name);
	size_t i;

	if (v != NULL && v[0] != '\0')
		return v;
	for (i = 0; i < sizeof(settings) / sizeof(settings[0]); i++)
		if (strcmp(settings[i].name, name) == 0)
			return settings[i].def;
	return NULL;
}

void
config_usage(FILE *out)
{
	size_t i;

	fputs("Variables d'environnement :\n", out);
	for (i = 0; i < sizeof(settings) / sizeof(settings[0]); i++)
		fprintf(out, "  %-24s %s (défaut : %s)\n", settings[i].name,
		    settings[i].help, settings[i].def ? settings[i].def : "obligatoire");
}

/* Appends the scheme://host[:port] part of url to the origin list. */
static int
add_origin(struct config *cfg, const char *url, size_t len, size_t *used)
{
	const char *p = memchr(url, ':', len);
	const char *host, *end;

	if (p == NULL || (size_t)(p - url) + 3 > len || strncmp(p, "://", 3) != 0)
		return -1;
	host = p + 3;
	end = memchr(host, '/', len - (size_t)(host - url));
	if (end == NULL)
		end = url + len;
	if (end == host || cfg->norigins == CONFIG_MAX_ORIGINS ||
	    *used + (size_t)(end - url) + 1 > sizeof(cfg->origin_buf))
		return -1;
	memcpy(cfg->origin_buf + *used, url, (size_t)(end - url));
	cfg->origin_buf[*used + (size_t)(end - url)] = '\0';
	cfg->origins[cfg->norigins++] = cfg->origin_buf + *used;
	*used += (size_t)(end - url) + 1;
	return 0;
}

int
config_load(struct config *cfg, char *err, size_t errlen)
{
	const char *secret, *list, *max;
	size_t used = 0;
	char *end;
	unsigned long long n;

	memset(cfg, 0, sizeof(*cfg));
	cfg->database_url = setting("FIABLE_DATABASE_URL");
	cfg->timezone = setting("FIABLE_TIMEZONE");
	cfg->public_url = setting("PUBLIC_URL");
	cfg->smtp_url = setting("SMTP_URL");
	cfg->smtp_user = setting("SMTP_USER");
	cfg->smtp_password = setting("SMTP_PASSWORD");
	cfg->mail_from = setting("MAIL_FROM");
	cfg->mail_dir = setting("FIABLE_MAIL_DIR");

	secret = setting("FIABLE_SECRET");
	if (secret == NULL || strlen(secret) != 2 * CONFIG_SECRET_BYTES ||
	    hex_decode(secret, cfg->secret, CONFIG_SECRET_BYTES) != 0) {
		snprintf(err, errlen, "FIABLE_SECRET doit contenir 64 chiffres hexadécimaux "
		    "(générez-le avec : openssl rand -hex 32)");
		return -1;
	}

	max = setting("FIABLE_MAX_BODY_BYTES");
	errno = 0;
	n = strtoull(max, &end, 10);
	if (errno != 0 || end == max || *end != '\0' || n < 1024 || n > 1048576) {
		snprintf(err, errlen, "FIABLE_MAX_BODY_BYTES doit être un entier entre 1024 et 1048576");
		return -1;
	}
	cfg->max_body_bytes = (size_t)n;

	if (add_origin(cfg, cfg->public_url, strlen(cfg->public_url), &used) != 0) {
		snprintf(err, errlen, "PUBLIC_URL n'est pas une adresse http(s) valable : %s",
		    cfg->public_url);
		return -1;
	}
	list = setting("FIABLE_ALLOWED_ORIGINS");
	while (list != NULL && *list != '\0') {
		size_t len = strcspn(list, ",");
		if (len > 0 && add_origin(cfg, list, len, &used) != 0) {
			snprintf(err, errlen, "FIABLE_ALLOWED_ORIGINS : origine invalide ou trop nombreuses");
			return -1;
		}
		list += len;
		if (*list == ',')
			list++;
	}
	return 0;
}
