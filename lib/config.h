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
	size_t norigins;
	char origin_buf[1024];
};

/* Reads the environment into cfg. On a bad or missing value, writes a French message
 * into err and returns -1. */
int config_load(struct config *cfg, char *err, size_t errlen);

/* Prints every variable with its default and meaning. */
void config_usage(FILE *out);

#endif
