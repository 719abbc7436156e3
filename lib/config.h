/* config.h — configuration from environment variables, each documented with its default
 * in the table of config.c (also printed by `--help` of every program). */
#ifndef FIABLE_CONFIG_H
#define FIABLE_CONFIG_H

#include <stddef.h>
#include <stdio.h>

#define CONFIG_SECRET_BYTES 32
#define CONFIG_MAX_ORIGINS 8

struct config {
	const char *database_url;      /* FIABLE_DATABASE_URL: libpq conninfo */
	const char *timezone;          /* FIABLE_TIMEZONE */
	const char *public_url;        /* PUBLIC_URL */
	size_t max_body_bytes;         /* FIABLE_MAX_BODY_BYTES */
	unsigned char secret[CONFIG_SECRET_BYTES]; /* FIABLE_SECRET, 64 hex digits */
	const char *origins[CONFIG_MAX_ORIGINS];   /* FIABLE_ALLOWED_ORIGINS + PUBLIC_URL's origin */
	/* Mail: SMTP when smtp_url is set, else .eml files in mail_dir, else no mail. */
	const char *smtp_url;          /* SMTP_URL: smtp://host:587 (STARTTLS) or smtps://host */
	const char *smtp_user;         /* SMTP_USER */
	const char *smtp_password;     /* SMTP_PASSWORD */
	const char *mail_from;         /* MAIL_FROM */
	const char *mail_dir;          /* FIABLE_MAIL_DIR */
	/* Metrics and alerts. */
	const char *spool_dir;         /* FIABLE_SPOOL_DIR: durable spool of the metrics (metrics.h) */
	const char *alert_email;       /* ALERT_EMAIL: recipient of the alerts */
	const char *alert_rules;       /* FIABLE_ALERT_RULES: the alert rules (JSON file) */
	size_t norigins;
	char origin_buf[1024];
	/* Backups (cron/backup-submissions, cleanup-old-backups, restore-backup). */
	const char *backup_destination;  /* BACKUP_DESTINATION: file:///dir, /dir or s3://bucket/prefix */
	const char *backup_database_url; /* BACKUP_DATABASE_URL, else FIABLE_DATABASE_URL */
	const char *s3_endpoint;         /* S3_ENDPOINT: empty = https://s3.REGION.amazonaws.com */
	const char *s3_region;           /* S3_REGION */
	const char *s3_access_key_id;    /* S3_ACCESS_KEY_ID */
	const char *s3_secret_access_key; /* S3_SECRET_ACCESS_KEY (never logged) */
	int backup_retention_daily;      /* BACKUP_RETENTION_DAILY: days kept in full */
	int backup_retention_weekly;     /* BACKUP_RETENTION_WEEKLY: weeks with one backup each */
	int backup_retention_monthly;    /* BACKUP_RETENTION_MONTHLY: months with one backup each */
	int backup_retention_min;        /* BACKUP_RETENTION_MIN: newest backups always kept */
	int backup_retries;              /* BACKUP_RETRIES: attempts of a storage operation */
	int backup_retry_delay_ms;       /* BACKUP_RETRY_DELAY_MS: first wait, doubled each time */
	/* The audit chain sealed after commit (sql/0026). */
	int audit_seal_max_s;            /* FIABLE_AUDIT_SEAL_MAX_S: longest commit-to-seal delay */
	int sync_standbys;               /* FIABLE_SYNC_STANDBYS: synchronous standbys expected */
};

/* Reads the environment into cfg. On a bad or missing value, writes a French message
 * into err and returns -1. */
int config_load(struct config *cfg, char *err, size_t errlen);

/* Prints every variable with its default and meaning. */
void config_usage(FILE *out);

#endif
