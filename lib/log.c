#include "log.h"

#include <limits.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "num.h"

static const char *log_program = "fiable";
static char log_request_id[65];
static bool log_journal;        /* stderr is systemd's journal stream */
static bool log_pid = true;     /* the pid is not the one journald records */

/* Whether stderr is the stream that JOURNAL_STREAM ("device:inode") names: set by systemd
 * for StandardError=journal, and still true in the children that inherit it (multiwatch),
 * false once stderr is redirected elsewhere. */
static bool
stderr_is_journal(void)
{
	const char *v = getenv("JOURNAL_STREAM");
	char dev[32];
	const char *colon;
	long long d, ino;
	struct stat st;

	if (v == NULL || (colon = strchr(v, ':')) == NULL || (size_t)(colon - v) >= sizeof(dev))
		return false;
	memcpy(dev, v, (size_t)(colon - v));
	dev[colon - v] = '\0';
	if (!num_parse(dev, 0, LLONG_MAX, &d) || !num_parse(colon + 1, 0, LLONG_MAX, &ino))
		return false;
	return fstat(STDERR_FILENO, &st) == 0 && (long long)st.st_dev == d &&
	    (long long)st.st_ino == ino;
}

/* journald records the pid of the process systemd started (the stream's peer): a process
 * whose parent is the service manager (PID 1, or $MANAGERPID for a user manager) has its pid
 * there already; a child of multiwatch does not. */
static bool
started_by_manager(void)
{
	const char *m = getenv("MANAGERPID");
	long long pid = 1;

	if (m != NULL && !num_parse(m, 1, LLONG_MAX, &pid))
		return false;
	return (long long)getppid() == pid;
}

void
log_init(const char *program)
{
	log_program = program;
	log_journal = stderr_is_journal();
	log_pid = !log_journal || !started_by_manager();
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

/* syslog priorities (sd-daemon(3) prefixes) of the levels: err, warning, info */
static const int priorities[] = { 3, 4, 6 };

void
log_msg(enum log_level level, const char *fmt, ...)
{
	static const char *const names[] = { "error", "warn", "info" };
	char raw[1024], esc[4096], stamp[32], pid[24] = "";
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

	if (log_pid)
		snprintf(pid, sizeof(pid), "[%ld]", (long)getpid());
	if (log_journal) {
		/* journald stamps each line itself; the prefix sets its priority (journalctl -p). */
		fprintf(stderr, "<%d>%s%s %s%s%s: %s\n", priorities[level], log_program, pid,
		    names[level], log_request_id[0] ? " req=" : "", log_request_id, esc);
		return;
	}
	gmtime_r(&now, &tm);
	strftime(stamp, sizeof(stamp), "%Y-%m-%dT%H:%M:%SZ", &tm);
	fprintf(stderr, "%s %s%s %s%s%s: %s\n", stamp, log_program, pid, names[level],
	    log_request_id[0] ? " req=" : "", log_request_id, esc);
}

void
log_report(enum log_level level, const char *fmt, ...)
{
	char buf[4096], *text = buf;
	const char *line, *end;
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	if ((size_t)n >= sizeof(buf) && (text = malloc((size_t)n + 1)) != NULL) {
		va_start(ap, fmt);
		vsnprintf(text, (size_t)n + 1, fmt, ap);
		va_end(ap);
	}
	if (text == NULL)
		text = buf;	/* out of memory: the report cut at sizeof(buf) */
	if (!log_journal) {
		fputs(text, stderr);
	} else {
		/* Each line its priority: journald splits the stream at every newline. */
		for (line = text; *line != '\0'; line = *end != '\0' ? end + 1 : end) {
			end = line + strcspn(line, "\n");
			fprintf(stderr, "<%d>%.*s%s", priorities[level], (int)(end - line), line,
			    *end == '\n' ? "\n" : "");
		}
	}
	if (text != buf)
		free(text);
}
