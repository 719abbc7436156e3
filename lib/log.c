#include "log.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static const char *log_program = "fiable";
static char log_request_id[65];

void
log_init(const char *program)
{
	log_program = program;
}

void
log_set_request_id(const char *request_id)
{
	size_t i;

	log_request_id[0] = '\0';
	if (request_id == NULL)
		return;
	/* Keep only a bounded, printable id. */
	for (i = 0; i < sizeof(log_request_id) - 1 && request_id[i] != '\0'; i++) {
		unsigned char c = (unsigned char)request_id[i];
		log_request_id[i] = (c > 0x20 && c < 0x7f) ? (char)c : '?';
	}
	log_request_id[i] = '\0';
}

void
log_msg(enum log_level level, const char *fmt, ...)
{
	static const char *const names[] = { "error", "warn", "info" };
	char raw[1024], esc[4096], stamp[32];
	size_t i, o = 0;
	struct tm tm;
	time_t now = time(NULL);
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(raw, sizeof(raw), fmt, ap);
	va_end(ap);

	for (i = 0; raw[i] != '\0' && o + 5 < sizeof(esc); i++) {
		unsigned char c = (unsigned char)raw[i];
		if (c < 0x20 || c == 0x7f || c == '\\')
			o += (size_t)snprintf(esc + o, sizeof(esc) - o,
			    c == '\\' ? "\\\\" : "\\x%02x", c);
		else
			esc[o++] = (char)c;
	}
	esc[o] = '\0';

	gmtime_r(&now, &tm);
	strftime(stamp, sizeof(stamp), "%Y-%m-%dT%H:%M:%SZ", &tm);
	fprintf(stderr, "%s %s[%ld] %s%s%s: %s\n", stamp, log_program,
	    (long)getpid(), names[level],
	    log_request_id[0] ? " req=" : "", log_request_id, esc);
}
