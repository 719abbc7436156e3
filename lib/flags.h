/* flags.h — the feature flags of rollback scenario 2 of docs/plan-de-deploiement.md (table feature_flags): what
 * each one switches off, reading one cheaply on a request's path, and changing one with its
 * audit row (the administration's /api/admin/fonctionnalites and cron/fiable-flags). */
#ifndef FIABLE_FLAGS_H
#define FIABLE_FLAGS_H

#include <stdbool.h>
#include <stddef.h>

#include <cjson/cJSON.h>

#include "db.h"
#include "http.h"

/* The flags the code honours, with their French label and explanation. */
struct flag_def {
	const char *name;          /* "modification": the feature_flags row */
	const char *label;         /* "Modification des réponses" */
	const char *description;   /* what switching it off does, for the administration */
};

/* The definition of a known flag, or NULL. */
const struct flag_def *flag_find(const char *name);
/* The i-th known flag (from 0), or NULL past the last: to list them in a message. */
const struct flag_def *flag_at(size_t i);

/* Whether a flag is on: 1 on, 0 off, -1 when the database could not answer (see db_lost()).
 * A flag without a row is on: the features are on unless switched off. One prepared
 * statement, outside a transaction (retried once on a connection found dead while idle). */
int flag_enabled(struct db *db, const char *name);
/* Same, inside the current transaction (never retried: the transaction would be lost). */
int flag_enabled_in_tx(struct db *db, const char *name);

/* Every flag as the administration sees it: [{nom, active, libelle, description,
 * modifie_le, modifie_par}], by name. NULL on a database error. */
cJSON *flags_list(struct db *db);

enum flag_set_result {
	FLAG_SET_CHANGED,
	FLAG_SET_UNCHANGED,    /* already in that state: nothing written */
	FLAG_SET_UNKNOWN,      /* no such flag */
	FLAG_SET_FAILED        /* database error; see db_lost() */
};

/* Switches a flag in the CURRENT transaction (the caller begins and commits): locks its row,
 * updates it and appends the audit row ('feature_flag.update', actor, {name, avant, apres}).
 * *was receives the previous state. */
enum flag_set_result flag_set(struct db *db, const struct http_request *req, const char *name,
    bool enabled, const char *actor, bool *was);

#endif
