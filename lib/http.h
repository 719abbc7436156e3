/* http.h — the HTTP side of a FastCGI request: reading the parameters and the body with
 * bounds, the checks every write endpoint makes, and responses (JSON and RFC 9457 problems). */
#ifndef FIABLE_HTTP_H
#define FIABLE_HTTP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <cjson/cJSON.h>
#include <fcgiapp.h>

/* Every error the API answers, with its stable code; French texts live in http.c only.
 * ERR_NONE (0) is no error: what a step returns when it succeeded; it is never answered. */
enum api_error {
	ERR_NONE = 0,
	ERR_INVALID_JSON,
	ERR_VALIDATION,
	ERR_PAYLOAD_TOO_LARGE,
	ERR_LENGTH_REQUIRED,
	ERR_BAD_LENGTH,
	ERR_UNSUPPORTED_MEDIA_TYPE,
	ERR_METHOD_NOT_ALLOWED,
	ERR_FORBIDDEN_ORIGIN,
	ERR_IDEMPOTENCY_KEY_MISSING,
	ERR_IDEMPOTENCY_KEY_INVALID,
	ERR_IDEMPOTENCY_KEY_REUSED,
	ERR_ALREADY_SUBMITTED,
	ERR_DATABASE_UNAVAILABLE,
	ERR_NOT_FOUND,
	ERR_INVALID_TOKEN,
	ERR_IF_MATCH_REQUIRED,
	ERR_VERSION_MISMATCH,
	ERR_SUBMISSION_WITHDRAWN,
	ERR_NOT_WITHDRAWN,
	ERR_RATE_LIMITED,
	ERR_ADMIN_REQUIRED,
	ERR_ADMIN_AUTH_FAILED,       /* nginx auth_basic refused the administration's password */
	ERR_MODIFICATION_DISABLED,   /* feature flag "modification" off */
	ERR_EMAIL_LINKS_DISABLED,    /* feature flag "email_links" off */
	ERR_INTERNAL,
	/* the organiser's API of campaigns */
	ERR_SLUG_TAKEN,              /* 409: another campaign has this address */
	ERR_CAMPAIGN_MODIFIED,       /* 412: If-Match of a campaign edit is stale */
	ERR_CAMPAIGN_ARCHIVED,       /* 409: an archived campaign is read-only */
	ERR_SLOT_IMPORT_INVALID,     /* 422: a slot file with faulty lines; nothing stored */
	/* campaigns */
	ERR_CAMPAIGN_NOT_FOUND,      /* GET /api/form?campagne=: unknown, brouillon or archivee */
	ERR_CAMPAIGN_UNKNOWN,        /* a body names a campaign that does not exist */
	ERR_CAMPAIGN_NOT_OPEN,       /* before its opening, brouillon, archivee */
	ERR_CAMPAIGN_CLOSED,         /* after its closing and grace period */
	ERR_MODIFICATION_CLOSED,     /* changing an answer after the closing */
	/* participants and invitations (sql/0018) */
	ERR_PARTICIPANT_EXISTS,      /* 409: this e-mail is already on the campaign's list */
	ERR_PARTICIPANT_IMPORT_INVALID, /* 422: a participant file with faulty lines */
	ERR_CAMPAIGN_DRAFT,          /* 409: invitations to a campaign not published */
	ERR_INVITATION_REQUIRED,     /* 403: an invited-only campaign, no token */
	ERR_INVITATION_INVALID,      /* 403: a token that invites nobody to this campaign */
	ERR_INVITATION_EMAIL,        /* 403: the token's participant has another e-mail */
	/* reminders (sql/0022) */
	ERR_REMINDER_NOT_OPEN,       /* 409: a reminder to a campaign that takes no answers */
	ERR__MAX
};

/* What the API answers for an error: status, stable code, French title and default detail,
 * and the header it needs (all of it in the one table api_errors of http.c). */
struct api_error_info {
	int status;
	const char *code;
	const char *title;
	const char *detail;
	bool allow;                    /* 405: Allow, the methods of the address */
	const char *www_authenticate;  /* the challenge of a 401, or NULL */
	int retry_after;               /* seconds for Retry-After, 0 = none */
};

/* Stable code ("validation_failed", ...) and HTTP status of an error. */
const char *api_error_code(enum api_error e);
int api_error_status(enum api_error e);
const struct api_error_info *api_error_info(enum api_error e);
/* The header lines error e needs ("Allow: ...\r\n", "Retry-After: 2\r\n"...), from its
 * entry in the table, into buf (cap bytes; "" when none). allow is the method list of the
 * address, used by a 405. */
void api_error_headers(enum api_error e, const char *allow, char *buf, size_t cap);

/* Looks a CGI parameter up by name (FCGX_GetParam, or a table in the tests). */
typedef const char *(*http_param_fn)(const char *name, void *ctx);

/* The parameters one request uses; the pointers live until the request is finished. */
struct http_request {
	const char *method;
	const char *uri;
	const char *content_type;
	const char *content_length;
	const char *origin;
	const char *sec_fetch_site;
	const char *host;              /* HTTP_HOST: with its port, or without (Debian's stock
	                                * fastcgi_params passes nginx's $host) */
	const char *server_port;       /* SERVER_PORT: the port the request came in on */
	const char *scheme;            /* "http" or "https" */
	const char *idempotency_key;
	const char *authorization;
	const char *if_match;
	const char *remote_addr;
	const char *remote_user;       /* set by nginx auth_basic */
	const char *user_agent;
	const char *request_id;
	const char *fiable_client;       /* Fiable-Client: what the form reports (metrics.h) */
	const char *query_string;      /* QUERY_STRING, or NULL */
	char *body;                    /* NUL-terminated copy, owned; NULL before reading */
	size_t body_len;
	uint64_t start_us;             /* monotonic time when the request arrived */
};

/* Fills req from the parameters (no body yet). */
void http_request_init(struct http_request *req, http_param_fn param, void *ctx);
void http_request_free(struct http_request *req);

/* Microseconds on the monotonic clock. */
uint64_t http_now_us(void);

/* Parses a CONTENT_LENGTH value: bounded, decimal, no sign or junk.
 * Returns 0 and sets *len, or the api_error to answer. */
int http_parse_content_length(const char *value, size_t max, size_t *len,
    enum api_error *err);

/* Reads exactly CONTENT_LENGTH bytes from in (at most max). 0 or -1 with *err set. */
int http_read_body(struct http_request *req, FCGX_Stream *in, size_t max, enum api_error *err);

/* True for application/json, with optional parameters such as charset=utf-8. */
bool http_is_json(const char *content_type);

/* CSRF defence for a JSON API: a present Origin must be the request's own origin or one of
 * allowed; without Origin, Sec-Fetch-Site must not say cross-site. */
bool http_origin_allowed(const struct http_request *req, const char *const *allowed,
    size_t nallowed);

/* The token of an "Authorization: Bearer <token>" header, or NULL. */
const char *http_bearer_token(const struct http_request *req);

/* Parses If-Match: "vN" (a strong ETag made from the version). Returns 1 and sets *version,
 * 0 when the header is absent, -1 when it is present but not one of our ETags. */
int http_if_match_version(const struct http_request *req, long *version);

/* The value of parameter `name` in a query string ("a=1&b=2"), copied as is (no decoding)
 * into out (at most cap-1 bytes): true, or false when absent or too long. */
bool http_query_value(const char *query, const char *name, char *out, size_t cap);

/* Checks and lowercases a UUID (8-4-4-4-12 hex) into out[37]. */
bool http_parse_uuid(const char *value, char out[37]);

/* Copies at most cap-1 bytes of a header value, replacing bytes outside printable ASCII
 * by '?', so it can go into a text column or a log line. NULL gives "". */
void http_sanitize(char *dst, size_t cap, const char *src);

/* Writes a complete response. extra_headers holds whole lines ("ETag: \"v1\"\r\n") or NULL. */
void http_send(FCGX_Stream *out, int status, const char *content_type,
    const char *extra_headers, const char *body, size_t len);
/* Writes a JSON response from a cJSON tree. */
void http_send_json(FCGX_Stream *out, int status, const char *extra_headers, const cJSON *json);
/* Builds the problem+json body of an error (malloc'd), with an optional extra member
 * (name: member), such as "errors" (field -> message). */
char *http_problem_body(enum api_error e, const char *detail, const char *name,
    const cJSON *member);
/* Writes an application/problem+json error; detail NULL uses the default French text. */
void http_send_error(FCGX_Stream *out, enum api_error e, const char *detail,
    const cJSON *errors, const char *extra_headers);
/* Same, with one more member (name: value) in the problem, e.g. "current" for a 412. */
void http_send_error_member(FCGX_Stream *out, enum api_error e, const char *detail,
    const char *name, const cJSON *member, const char *extra_headers);

#endif
