/* form_cache.h — what fiable-form answers most, kept in each worker's memory: the
 * pre-rendered bodies of GET /api/form (one per campaign) and GET /api/campagnes, so that
 * everyone who opens an invitation at once costs no database round trip.
 *
 * An entry is valid until, whichever comes first:
 *   - a notification on FORM_CHANNEL (sql/0015: any write to campagnes, creneaux,
 *     feature_flags) — form_cache_sync() drains them without blocking before each request;
 *   - a new database connection (the LISTEN of the old one is gone and notifications may
 *     have been missed): everything is dropped and LISTEN said again;
 *   - its expiry: the next instant its campaign's phase changes (a_venir -> ouverte at the
 *     opening...), given by the database, compared with this machine's clock.
 * Without a LISTEN in place (database down), nothing is kept. */
#ifndef FIABLE_FORM_CACHE_H
#define FIABLE_FORM_CACHE_H

#include <stdbool.h>
#include <stddef.h>

#include "db.h"

/* The most entries kept; beyond, the oldest goes. Keys are at most FORM_CACHE_KEY_MAX-1. */
#define FORM_CACHE_MAX 32
#define FORM_CACHE_KEY_MAX 80

/* Before serving a request: LISTEN (again after a reconnection) and drain the notifications
 * (PQconsumeInput, PQnotifies), dropping every entry when something changed or may have. */
void form_cache_sync(struct db *db);

/* The body kept under key and still valid, with its length; NULL when none. The pointer is
 * valid until the next call of this module. */
const char *form_cache_get(const char *key, size_t *len);

/* Keeps body (copied) under key until expires (seconds since the epoch; 0 = until the next
 * notification). Nothing is kept when no LISTEN covers the current connection. */
void form_cache_put(struct db *db, const char *key, const char *body, long long expires);

/* Drops every entry (tests, and after a failure). */
void form_cache_clear(void);

#endif
