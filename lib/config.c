#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "crypto.h"
#include "num.h"

/* Where cmake --install puts the configuration files (alert rules). */
#ifndef FIABLE_SYSCONFDIR
#define FIABLE_SYSCONFDIR "/etc"
#endif

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
	{ "FIABLE_SPOOL_DIR", "",
	  "dossier de la file durable des métriques quand la base est injoignable ; vide = aucune" },
	{ "ALERT_EMAIL", "", "destinataire des alertes (fiable-check-alerts) ; vide = pas de courriel" },
	{ "FIABLE_ALERT_RULES", FIABLE_SYSCONFDIR "/fiable/alert-rules.json",
	  "règles d'alerte (fichier JSON, installé par cmake --install)" },
	/* Backups: cron/backup-submissions, cleanup-old-backups and restore-backup. */
	{ "BACKUP_DESTINATION", "",
	  "destination des sauvegardes : dossier local (/chemin ou file:///chemin) ou "
	  "s3://compartiment/préfixe ; obligatoire pour les programmes de sauvegarde" },
	{ "BACKUP_DATABASE_URL", "",
	  "connexion libpq des programmes de sauvegarde (rôle fiable_backup ; fiable_restore pour "
	  "--apply) ; vide = FIABLE_DATABASE_URL" },
	{ "S3_ENDPOINT", "",
	  "adresse du service S3 (https://hôte[:port][/chemin], style chemin) ; "
	  "vide = https://s3.RÉGION.amazonaws.com" },
	{ "S3_REGION", "us-east-1", "région S3 signée (SigV4)" },
	{ "S3_ACCESS_KEY_ID", "", "identifiant de clé S3" },
	{ "S3_SECRET_ACCESS_KEY", "", "clé secrète S3 (jamais journalisée)" },
	{ "BACKUP_RETENTION_DAILY", "7", "nettoyage : jours dont toutes les sauvegardes sont gardées" },
	{ "BACKUP_RETENTION_WEEKLY", "5", "nettoyage : semaines dont la plus récente est gardée" },
	{ "BACKUP_RETENTION_MONTHLY", "12", "nettoyage : mois dont la plus récente est gardée" },
	{ "BACKUP_RETENTION_MIN", "3",
	  "nettoyage : nombre de sauvegardes réussies les plus récentes toujours gardées (1 à 1000)" },
	{ "BACKUP_RETRIES", "5", "essais d'une opération de stockage en cas d'erreur passagère (1 à 20)" },
	{ "BACKUP_RETRY_DELAY_MS", "1000",
	  "attente avant le deuxième essai, doublée ensuite (millisecondes, 0 à 60000)" },
	/* The audit chain sealed after commit (sql/0026, cron/audit-sealer.c). */
	{ "FIABLE_AUDIT_SEAL_MAX_S", "60",
	  "délai maximal entre l'ajout d'une ligne d'audit et son scellement dans la chaîne "
	  "(secondes, 1 à 86400) : au-delà, fiable-verify-audit échoue et la santé le signale" },
	/* High availability (Patroni, docs/DEPLOIEMENT.md). */
	{ "FIABLE_SYNC_STANDBYS", "0",
	  "standbys synchrones attendus (0 à 8) ; GET /api/health avertit quand il en manque "
	  "(0 = un seul serveur de base, rien à surveiller)" },
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

/* Reads an integer setting between min and max (num_parse: digits only, never atoi). */
static int
setting_int(const char *name, int min, int max, int *out, char *err, size_t errlen)
{
	long long n;

	if (!num_parse(setting(name), min, max, &n)) {
		snprintf(err, errlen, "%s doit être un entier entre %d et %d", name, min, max);
		return -1;
	}
	*out = (int)n;
	return 0;
}

int
config_load(struct config *cfg, char *err, size_t errlen)
{
	const char *secret, *list;
	size_t used = 0;
	int max_body;

	memset(cfg, 0, sizeof(*cfg));
	cfg->database_url = setting("FIABLE_DATABASE_URL");
	cfg->timezone = setting("FIABLE_TIMEZONE");
	cfg->public_url = setting("PUBLIC_URL");
	cfg->smtp_url = setting("SMTP_URL");
	cfg->smtp_user = setting("SMTP_USER");
	cfg->smtp_password = setting("SMTP_PASSWORD");
	cfg->mail_from = setting("MAIL_FROM");
	cfg->mail_dir = setting("FIABLE_MAIL_DIR");
	cfg->spool_dir = setting("FIABLE_SPOOL_DIR");
	cfg->alert_email = setting("ALERT_EMAIL");
	cfg->alert_rules = setting("FIABLE_ALERT_RULES");

	secret = setting("FIABLE_SECRET");
	if (secret == NULL || strlen(secret) != 2 * CONFIG_SECRET_BYTES ||
	    hex_decode(secret, cfg->secret, CONFIG_SECRET_BYTES) != 0) {
		snprintf(err, errlen, "FIABLE_SECRET doit contenir 64 chiffres hexadécimaux "
		    "(générez-le avec : openssl rand -hex 32)");
		return -1;
	}

	if (setting_int("FIABLE_MAX_BODY_BYTES", 1024, 1048576, &max_body, err, errlen) != 0)
		return -1;
	cfg->max_body_bytes = (size_t)max_body;

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

	cfg->backup_destination = setting("BACKUP_DESTINATION");
	cfg->backup_database_url = setting("BACKUP_DATABASE_URL");
	if (cfg->backup_database_url[0] == '\0')
		cfg->backup_database_url = cfg->database_url;
	cfg->s3_endpoint = setting("S3_ENDPOINT");
	cfg->s3_region = setting("S3_REGION");
	cfg->s3_access_key_id = setting("S3_ACCESS_KEY_ID");
	cfg->s3_secret_access_key = setting("S3_SECRET_ACCESS_KEY");
	if (setting_int("BACKUP_RETENTION_DAILY", 0, 3660, &cfg->backup_retention_daily,
	    err, errlen) != 0 ||
	    setting_int("BACKUP_RETENTION_WEEKLY", 0, 520, &cfg->backup_retention_weekly,
	    err, errlen) != 0 ||
	    setting_int("BACKUP_RETENTION_MONTHLY", 0, 1200, &cfg->backup_retention_monthly,
	    err, errlen) != 0 ||
	    setting_int("BACKUP_RETENTION_MIN", 1, 1000, &cfg->backup_retention_min,
	    err, errlen) != 0 ||
	    setting_int("BACKUP_RETRIES", 1, 20, &cfg->backup_retries, err, errlen) != 0 ||
	    setting_int("BACKUP_RETRY_DELAY_MS", 0, 60000, &cfg->backup_retry_delay_ms,
	    err, errlen) != 0 ||
	    setting_int("FIABLE_AUDIT_SEAL_MAX_S", 1, 86400, &cfg->audit_seal_max_s,
	    err, errlen) != 0 ||
	    setting_int("FIABLE_SYNC_STANDBYS", 0, 8, &cfg->sync_standbys, err, errlen) != 0)
		return -1;
	return 0;
}
