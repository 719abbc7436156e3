/* server.h — the FastCGI accept loop shared by every program (libfcgi's fcgiapp.h). */
#ifndef FIABLE_SERVER_H
#define FIABLE_SERVER_H

#include <fcgiapp.h>

#include "config.h"
#include "http.h"

/* Handles one request: req is filled from the parameters (body not read yet). */
typedef void (*server_handler)(FCGX_Request *fcgi, struct http_request *req, void *ctx);

/* Common start of a program: names the logs, answers --help, loads the configuration.
 * Returns 0, or the exit status to leave with. */
int server_setup(int argc, char **argv, const char *program, const char *summary,
    struct config *cfg);

/* Accepts requests on the socket given as file descriptor 0 (spawn-fcgi, systemd) until
 * SIGTERM or SIGINT, calling handler for each. Returns the exit status. */
int server_run(server_handler handler, void *ctx);

#endif
