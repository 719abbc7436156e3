#include "server.h"

#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "metrics.h"

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

int
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

int
server_run(server_handler handler, void *ctx)
{
	struct sigaction sa;
	FCGX_Request r;

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
		return 1;
	}
	log_info("prêt");
	while (!stopping && FCGX_Accept_r(&r) >= 0) {
		struct http_request req;

		http_request_init(&req, fcgi_param, &r);
		log_set_request_id(req.request_id);
		handler(&r, &req, ctx);
		http_request_free(&req);
		log_set_request_id(NULL);
		FCGX_Finish_r(&r);
	}
	FCGX_Free(&r, 1);
	log_info("arrêt");
	return 0;
}
