#include "replication.h"

#include <limits.h>

cJSON *
replication_json(struct db *db, int expected)
{
	PGresult *res = db_query(db, STMT_HEALTH_REPLICATION, NULL);
	long long n = 0;
	cJSON *o;

	if (!db_ok(res) || PQntuples(res) != 1 ||
	    !db_int(res, 0, "standbys_synchrones", 0, INT_MAX, &n)) {
		PQclear(res);
		return NULL;
	}
	o = cJSON_CreateObject();
	cJSON_AddNumberToObject(o, "standbys_attendus", expected);
	cJSON_AddNumberToObject(o, "standbys_synchrones", (double)n);
	cJSON_AddNumberToObject(o, "standbys_manquants", n < expected ? (double)(expected - n) : 0);
	cJSON_AddBoolToObject(o, "attente_synchrone", db_bool(res, 0, "attente_synchrone"));
	PQclear(res);
	return o;
}
