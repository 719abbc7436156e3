/* replication.h — the synchronous standbys (Patroni, sql/0029) against FIABLE_SYNC_STANDBYS:
 * one reading for GET /api/health and the alert rule "standby_synchrone". */
#ifndef FIABLE_REPLICATION_H
#define FIABLE_REPLICATION_H

#include <cjson/cJSON.h>

#include "db.h"

/* {"standbys_attendus": E, "standbys_synchrones": n, "standbys_manquants": max(0, E - n),
 *  "attente_synchrone": true when COMMITs wait for a standby (synchronous_standby_names set)},
 * or NULL when the state cannot be read (database, or migration 0029 missing). */
cJSON *replication_json(struct db *db, int expected);

#endif
