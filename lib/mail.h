/* mail.h — composing and sending one e-mail: over SMTP with libcurl (SMTP_URL), or, as the
 * embedded default, written as an .eml file into FIABLE_MAIL_DIR. Headers are built here
 * only; CR and LF are stripped from every value that reaches a header. */
#ifndef FIABLE_MAIL_H
#define FIABLE_MAIL_H

#include <stdbool.h>
#include <stddef.h>

#include "config.h"

/* True when mail can be delivered (SMTP_URL or FIABLE_MAIL_DIR set). */
bool mail_configured(const struct config *cfg);

/* Sends one message (UTF-8 subject and body, French text; smtp.c). The body uses \n line ends; it is
 * sent with CRLF. Returns 0, or -1 with a message (never holding a password) in err;
 * *transient tells whether trying again later may succeed (connection refused, 4xx). */
int mail_send(const struct config *cfg, const char *to, const char *subject, const char *body,
    bool *transient, char *err, size_t errlen);

/* mail_send with extra header lines (\n-separated "Name: value", printable ASCII: see
 * mail_format_headers), or NULL for none. */
int mail_send_headers(const struct config *cfg, const char *to, const char *subject,
    const char *body, const char *headers, bool *transient, char *err, size_t errlen);

/* The longest address (RFC 5321). */
#define MAIL_ADDR_MAX 254
/* The bare address of MAIL_FROM (or of a recipient), checked; -1 when unusable. */
int mail_address(const char *value, char addr[MAIL_ADDR_MAX + 1]);

/* The complete RFC 5322 message (headers, blank line, CRLF body), malloc'd; exposed for the
 * tests and for the .eml files. */
char *mail_format(const char *from, const char *to, const char *subject, const char *body,
    long long now_epoch, const char *message_id_domain);

/* mail_format with extra header lines after Message-ID (NULL: none); NULL when a line is
 * not of the accepted shape. */
char *mail_format_headers(const char *from, const char *to, const char *subject,
    const char *body, const char *headers, long long now_epoch,
    const char *message_id_domain);

#endif
