/* log.h — one line per event on stderr: UTC time, program, pid, level, request id, message.
 * Control characters in messages are escaped so a value typed by a user cannot forge a line.
 * When stderr is systemd's journal (JOURNAL_STREAM names it), each line starts with its
 * syslog priority (<3> error, <4> warn, <6> info: journalctl -p err) and carries neither
 * the time nor a pid journald already records. */
#ifndef FIABLE_LOG_H
#define FIABLE_LOG_H

enum log_level { LOG_ERROR, LOG_WARN, LOG_INFO };

/* Names the program in every line (call once at start). */
void log_init(const char *program);
/* Request id shown in the following lines; NULL clears it. The string is copied. */
void log_set_request_id(const char *request_id);
/* printf-like; the formatted text is escaped before it is written. */
void log_msg(enum log_level level, const char *fmt, ...)
  __attribute__((format(printf, 2, 3)));

/* A report line of a command-line program (cron/: « fiable-x : 3 envoyé(s)… »), printf-like,
 * written on stderr as given for a person at a terminal; under the journal each of its lines
 * starts with the priority of level, so that `journalctl -p err` shows the failures. Not
 * escaped (the programs' own text): values from users go through log_msg. A text that a
 * later fprintf completes on the same line gets its prefix from this first part only. */
void log_report(enum log_level level, const char *fmt, ...)
  __attribute__((format(printf, 2, 3)));

#define report_error(...) log_report(LOG_ERROR, __VA_ARGS__)
#define report_warn(...)  log_report(LOG_WARN, __VA_ARGS__)
#define report_info(...)  log_report(LOG_INFO, __VA_ARGS__)

#define log_error(...) log_msg(LOG_ERROR, __VA_ARGS__)
#define log_warn(...)  log_msg(LOG_WARN, __VA_ARGS__)
#define log_info(...)  log_msg(LOG_INFO, __VA_ARGS__)

#endif
