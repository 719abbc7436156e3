/* server.h — what every FastCGI program is: a table of routes and one server_main() that
 * sets up (logs, --help, configuration, database), accepts requests on the socket given as
 * descriptor 0 (spawn-fcgi, systemd, libfcgi's fcgiapp.h) and hands each to the handler of
 * its route, with one request context (struct call). It answers 404 and 405 (with Allow
 * built from the table) itself. Model: kcgi's sample.c (pages[], disps[], one struct kreq). */
#ifndef FIABLE_SERVER_H
#define FIABLE_SERVER_H

#include <stdbool.h>
#include <stddef.h>

#include <fcgiapp.h>

#include "config.h"
#include "db.h"
#include "http.h"

/* One request, as every handler receives it. */
struct call {
	FCGX_Request *fcgi;          /* the FastCGI request (fcgi->out: the response) */
	struct http_request *req;    /* its parsed parameters (and body once read) */
	struct db *db;
	const struct config *cfg;
	const char *endpoint;        /* metrics label: the route's path; NULL = not measured */
	char allow[64];              /* the methods of the address: the Allow of a 405 */
	char id[24];                 /* the {id} of a route ".../{id}", else "" */
	void *app;                   /* the program's own state (struct program.app), or NULL */
};

typedef void (*route_handler)(struct call *call);

/* The metrics label of an address no route has (a 404): one label for them all, never the
 * URI itself, whose variety has no bound. */
#define SERVER_UNROUTED "/api/*"

/* A path with the methods it accepts and its handler. path is exact, or ends in "{id}" (the
 * rest is a positive integer of 1 to 18 digits without leading zero, copied to call->id) or
 * in "*" (any rest). Several routes may share a path, one per method family: a 405's Allow
 * lists the methods of them all. The first route whose path matches is the address. */
struct route {
	const char *path;
	const char *methods;         /* "GET, HEAD", "POST"...: what it accepts */
	route_handler handler;
};

struct program {
	const char *name;            /* "fiable-submit": logs */
	const char *summary;         /* French, for --help */
	const struct route *routes;
	size_t nroutes;
	bool unmeasured;             /* no request metrics (fiable-health, polled constantly) */
	void *app;                   /* passed as call->app */
	/* Optional: after the database is opened, before serving: 0, or the exit status. */
	int (*start)(struct db *db, const struct config *cfg);
	/* Optional: runs once the address is known (call->endpoint, call->allow; an address of
	 * no route is labelled SERVER_UNROUTED), before the method is checked; false when it
	 * answered the request. */
	bool (*admit)(struct call *call, const struct route *route);
};

/* The whole program: setup, serve until SIGTERM/SIGINT, close. Returns the exit status. */
int server_main(int argc, char **argv, const struct program *p);

/* The route of path and method in a table, or NULL. *address is the pattern of the path's
 * routes (NULL when no route has this path: a 404; else a 405 when no route takes the
 * method); allow (cap bytes) receives the methods of the path, id (24 bytes) its {id}. */
const struct route *server_route(const struct route *routes, size_t nroutes, const char *path,
    const char *method, const char **address, char *allow, size_t cap, char id[24]);

#endif
