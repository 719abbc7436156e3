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

#define log_error(...) log_msg(LOG_ERROR, __VA_ARGS__)
#define log_warn(...)  log_msg(LOG_WARN, __VA_ARGS__)
#define log_info(...)  log_msg(LOG_INFO, __VA_ARGS__)

#endif
