/* fiable-health — GET /api/health: 200 when the database answers, 503 otherwise.
 * For load balancers and monitoring; it does not count in the request metrics. */
#include <string.h>

#include "config.h"
#include "db.h"
#include "http.h"
#include "server.h"

struct app {
	struct config cfg;
	struct db *db;
};

static void
handle_health(FCGX_Request *r, struct http_request *req, void *ctx)
{
	static const char ok[] = "{\"status\":\"ok\",\"database\":\"ok\"}";
	static const char down[] = "{\"status\":\"indisponible\",\"database\":\"injoignable\"}";
	struct app *app = ctx;
	PGresult *res;

	if (strcmp(req->method, "GET") != 0 && strcmp(req->method, "HEAD") != 0) {
		http_send_error(r->out, ERR_METHOD_NOT_ALLOWED, NULL, NULL, "Allow: GET, HEAD\r\n");
		return;
	}
	res = db_query(app->db, STMT_PING, NULL);
	if (db_ok(res))
		http_send(r->out, 200, "application/json; charset=utf-8", NULL, ok, sizeof(ok) - 1);
	else
		http_send(r->out, 503, "application/json; charset=utf-8", "Retry-After: 2\r\n",
		    down, sizeof(down) - 1);
	PQclear(res);
}

int
main(int argc, char **argv)
{
	struct app app;
	int rc;

	if ((rc = server_setup(argc, argv, "fiable-health",
	    "état du service (GET /api/health)", &app.cfg)) != 0)
		return rc == 2 ? 0 : rc;
	if ((app.db = db_open(app.cfg.database_url)) == NULL)
		return 1;
	rc = server_run(handle_health, NULL, &app);
	db_close(app.db);
	return rc;
}
