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
	size_t norigins;
	char origin_buf[1024];
};

/* Reads the environment into cfg. On a bad or missing value, writes a French message
 * into err and returns -1. */
int config_load(struct config *cfg, char *err, size_t errlen);

/* Prints every variable with its default and meaning. */
void config_usage(FILE *out);

#endif
