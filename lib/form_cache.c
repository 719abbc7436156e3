#include "form_cache.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "log.h"
#include "statements.h"

struct entry {
	char key[FORM_CACHE_KEY_MAX];
	char *body;                  /* NULL: a free slot */
	size_t len;
	long long expires;           /* 0: none */
	unsigned long stored;        /* insertion order, for replacing the oldest */
};

/* One worker serves one request at a time: process-wide state, no locking. */
static struct entry entries[FORM_CACHE_MAX];
static unsigned long stored_count;
static bool listening;
static unsigned long listened_connection;   /* db_connections() when LISTEN was said */

void
form_cache_clear(void)
{
	size_t i;

	for (i = 0; i < FORM_CACHE_MAX; i++) {
		free(entries[i].body);
		entries[i].body = NULL;
	}
}

void
form_cache_sync(struct db *db)
{
	if (!listening || db_connections(db) != listened_connection) {
		/* First request, or a new connection: what was kept may have missed a change. */
		form_cache_clear();
		listening = db_listen(db, FORM_CHANNEL);
		listened_connection = db_connections(db);
		return;
	}
	switch (db_wait_notify(db, 0)) {
	case 0:
		return;
	case 1:
		form_cache_clear();
		return;
	default:
		/* The connection is gone: LISTEN again on the next one. */
		form_cache_clear();
		listening = false;
		return;
	}
}

const char *
form_cache_get(const char *key, size_t *len)
{
	long long now = (long long)time(NULL);
	size_t i;

	for (i = 0; i < FORM_CACHE_MAX; i++) {
		struct entry *e = &entries[i];

		if (e->body == NULL || strcmp(e->key, key) != 0)
			continue;
		if (e->expires != 0 && now >= e->expires) {
			free(e->body);
			e->body = NULL;
			return NULL;
		}
		*len = e->len;
		return e->body;
	}
	return NULL;
}

void
form_cache_put(struct db *db, const char *key, const char *body, long long expires)
{
	struct entry *slot = NULL;
	size_t i, len = strlen(body);
	char *copy;

	if (!listening || db_connections(db) != listened_connection ||
	    strlen(key) >= FORM_CACHE_KEY_MAX)
		return;
	/* The entry of the same key, else a free one, else the oldest. */
	for (i = 0; i < FORM_CACHE_MAX && slot == NULL; i++)
		if (entries[i].body != NULL && strcmp(entries[i].key, key) == 0)
			slot = &entries[i];
	for (i = 0; i < FORM_CACHE_MAX && slot == NULL; i++)
		if (entries[i].body == NULL)
			slot = &entries[i];
	if (slot == NULL) {
		slot = &entries[0];
		for (i = 1; i < FORM_CACHE_MAX; i++)
			if (entries[i].stored < slot->stored)
				slot = &entries[i];
	}
	if ((copy = malloc(len + 1)) == NULL)
		return;
	memcpy(copy, body, len + 1);
	free(slot->body);
	snprintf(slot->key, sizeof(slot->key), "%s", key);
	slot->body = copy;
	slot->len = len;
	slot->expires = expires;
	slot->stored = ++stored_count;
}
