#include "server.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "metrics.h"
#include "respond.h"

/* Stopping (SIGTERM, SIGINT; multiwatch sends SIGQUIT when told to stop, SIGUSR1 is its
 * "graceful" signal): the request in progress, if any, is served to the end, then the loop
 * stops. The handler closes this
 * process's copy of the listening socket (descriptor 0; the supervisor and the other workers
 * keep theirs): an accept() waiting on it, or about to, fails at once, whereas one that
 * already took a connection goes on. libfcgi's FCGX_ShutdownPending() is not used: after it
 * libfcgi reads nothing more, which cuts a request still arriving. SA_RESTART: libfcgi's
 * reads and writes do not retry on EINTR. */
static volatile sig_atomic_t stopping;

static void
on_terminate(int sig)
{
	(void)sig;
	if (!stopping) {
		stopping = 1;
		close(0);	/* FCGX_InitRequest(&r, 0, 0): the socket received on 0 */
	}
}

static const char *
fcgi_param(const char *name, void *ctx)
{
	FCGX_Request *r = ctx;

	return FCGX_GetParam(name, r->envp);
}

/* Names the logs, answers --help, loads the configuration. 0, or the exit status to leave
 * with (2 after --help, which main turns into 0). */
static int
server_setup(int argc, char **argv, const char *program, const char *summary,
    struct config *cfg)
{
	char err[256];

	log_init(program);
	if (argc > 1 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)) {
		printf("%s — %s\n\nProgramme FastCGI : lancez-le avec spawn-fcgi ou systemd "
		    "(socket sur le descripteur 0).\n\n", program, summary);
		config_usage(stdout);
		return 2;
	}
	if (config_load(cfg, err, sizeof(err)) != 0) {
		log_error("configuration : %s", err);
		return 1;
	}
	metrics_configure(cfg->spool_dir);
	return 0;
}

/* True when method is one of the list "GET, HEAD" (names separated by ", "). */
static bool
method_listed(const char *methods, const char *method)
{
	size_t n = strlen(method);
	const char *p = methods;

	if (n == 0)
		return false;
	while ((p = strstr(p, method)) != NULL) {
		if ((p == methods || p[-1] == ' ') && (p[n] == '\0' || p[n] == ','))
			return true;
		p += n;
	}
	return false;
}

/* Whether path is the address of route pattern, and its {id} if it has one. */
static bool
path_matches(const char *pattern, const char *path, char id[24])
{
	static const char id_mark[] = "{id}";
	size_t plen = strlen(pattern), mlen = sizeof(id_mark) - 1, n;
	const char *rest;

	if (plen > 0 && pattern[plen - 1] == '*')
		return strncmp(path, pattern, plen - 1) == 0;
	if (plen < mlen || strcmp(pattern + plen - mlen, id_mark) != 0)
		return strcmp(path, pattern) == 0;
	if (strncmp(path, pattern, plen - mlen) != 0)
		return false;
	rest = path + plen - mlen;
	n = strspn(rest, "0123456789");
	if (n == 0 || n > 18 || rest[n] != '\0' || rest[0] == '0')
		return false;
	memcpy(id, rest, n + 1);
	return true;
}

const struct route *
server_route(const struct route *routes, size_t nroutes, const char *path, const char *method,
    const char **address, char *allow, size_t cap, char id[24])
{
	const struct route *found = NULL;
	const char *first = NULL;
	size_t i, len = 0;

	allow[0] = '\0';
	id[0] = '\0';
	for (i = 0; i < nroutes; i++) {
		char rid[24] = "";

		/* The address is the first pattern that matches; its siblings share that path. */
		if (first != NULL ? strcmp(routes[i].path, first) != 0 :
		    !path_matches(routes[i].path, path, rid))
			continue;
		if (first == NULL) {
			first = routes[i].path;
			memcpy(id, rid, sizeof(rid));
		}
		if (len < cap)
			len += (size_t)snprintf(allow + len, cap - len, "%s%s", len ? ", " : "",
			    routes[i].methods);
		if (found == NULL && method_listed(routes[i].methods, method))
			found = &routes[i];
	}
	*address = first;
	return found;
}

/* One request: its route, the program's admission, then the handler, a 405 or a 404. */
static void
serve(const struct program *p, struct call *call)
{
	const struct route *route;
	const char *address;

	route = server_route(p->routes, p->nroutes, call->req->uri, call->req->method, &address,
	    call->allow, sizeof(call->allow), call->id);
	/* The label is the route's pattern, an address of the table, never the raw URI. */
	call->endpoint = p->unmeasured ? NULL : address != NULL ? address : SERVER_UNROUTED;
	if (p->admit != NULL && !p->admit(call, route))
		return;
	if (route != NULL)
		route->handler(call);
	else
		respond_error(call, address != NULL ? ERR_METHOD_NOT_ALLOWED : ERR_NOT_FOUND);
}

/* A program whose read metrics are batched (metrics_batch_enable) must send a batch still
 * held when the traffic stops, while FCGX_Accept_r would block: its listening socket is made
 * non-blocking (all the workers of a program share it and run this same loop). Accepting is
 * tried first (under load a connection is there: no extra system call); when none is waiting
 * (EAGAIN, or another worker took it), the worker waits with poll(), whose timeout is the
 * batch's deadline, and sends the batch when it passes. False when stopping. */
static bool
wait_for_connection(struct db *db)
{
	struct pollfd pfd;
	int ms, n;

	while (!stopping) {
		if ((ms = metrics_batch_wait_ms()) == 0) {
			metrics_batch_flush(db);
			continue;
		}
		pfd.fd = 0;
		pfd.events = POLLIN;
		pfd.revents = 0;
		n = poll(&pfd, 1, ms);
		if (n == 0)
			metrics_batch_flush(db);
		else if (n > 0 || errno != EINTR)
			return true;	/* a connection, or an error FCGX_Accept_r will report */
	}
	return false;
}

/* True when a connection is waiting on the listening socket: the worker is not idle. */
static bool
connection_waiting(void)
{
	struct pollfd pfd = { .fd = 0, .events = POLLIN, .revents = 0 };

	return poll(&pfd, 1, 0) > 0 && (pfd.revents & POLLIN) != 0;
}

int
server_main(int argc, char **argv, const struct program *p)
{
	struct sigaction sa;
	struct config cfg;
	struct db *db;
	FCGX_Request r;
	bool batched;
	int rc, flags, ms;

	memset(&cfg, 0, sizeof(cfg));
	if ((rc = server_setup(argc, argv, p->name, p->summary, &cfg)) != 0)
		return rc == 2 ? 0 : rc;
	if ((db = db_open(cfg.database_url)) == NULL)
		return 1;
	if (p->start != NULL && (rc = p->start(db, &cfg)) != 0) {
		db_close(db);
		return rc;
	}

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_terminate;
	sa.sa_flags = SA_RESTART;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGQUIT, &sa, NULL);
	/* Set before FCGX_Init, which would otherwise install libfcgi's own handler
	 * (FCGX_ShutdownPending) for SIGUSR1. */
	sigaction(SIGUSR1, &sa, NULL);
	sa.sa_handler = SIG_IGN;	/* a client gone mid-response is not a reason to die */
	sigaction(SIGPIPE, &sa, NULL);

	if (FCGX_Init() != 0 || FCGX_InitRequest(&r, 0, 0) != 0) {
		log_error("%s: initialisation FastCGI impossible", __func__);
		db_close(db);
		return 1;
	}
	batched = metrics_batch_enabled();
	if (batched && ((flags = fcntl(0, F_GETFL)) < 0 || fcntl(0, F_SETFL, flags | O_NONBLOCK) != 0))
		log_warn("%s: socket non bloquant impossible : %s", __func__, strerror(errno));
	log_info("prêt");
	for (;;) {
		struct http_request req;
		struct call call;

		if (stopping)
			break;
		if ((rc = FCGX_Accept_r(&r)) < 0) {
			if (batched && !stopping && (rc == -EAGAIN || rc == -EWOULDBLOCK || rc == -EINTR) &&
			    wait_for_connection(db))
				continue;	/* no connection waiting: one came, accept it */
			break;
		}
		http_request_init(&req, fcgi_param, &r);
		log_set_request_id(req.request_id);
		http_set_request_id(req.request_id);
		memset(&call, 0, sizeof(call));
		call.fcgi = &r;
		call.req = &req;
		call.db = db;
		call.cfg = &cfg;
		call.app = p->app;
		serve(p, &call);
		http_request_free(&req);
		log_set_request_id(NULL);
		http_set_request_id(NULL);
		/* A batch is sent when full or old, and whenever no connection waits: an idle
		 * worker holds nothing, and one client's request is measured once it is answered,
		 * as before. Sent before FCGX_Finish_r for that reason. */
		if (batched && (ms = metrics_batch_wait_ms()) >= 0 && (ms == 0 || !connection_waiting()))
			metrics_batch_flush(db);
		FCGX_Finish_r(&r);
	}
	FCGX_Free(&r, 1);
	metrics_batch_flush(db);	/* SIGTERM: what the batch holds is sent before leaving */
	log_info("arrêt");
	db_close(db);
	return 0;
}
