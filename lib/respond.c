#include "respond.h"

#include <stdio.h>
#include <string.h>

#include "flags.h"
#include "json.h"
#include "metrics.h"
#include "submission.h"
#include "validate.h"

void
respond_error(FCGX_Request *r, struct db *db, const struct http_request *req,
    const char *endpoint, enum api_error e, const cJSON *errors, const char *allow)
{
	char headers[160] = "";

	switch (e) {
	case ERR_METHOD_NOT_ALLOWED:
		snprintf(headers, sizeof(headers), "Allow: %s\r\n", allow ? allow : "");
		break;
	case ERR_INVALID_TOKEN:
		snprintf(headers, sizeof(headers), "WWW-Authenticate: Bearer realm=\"fiable\"\r\n");
		break;
	case ERR_ADMIN_AUTH_FAILED:
		/* No WWW-Authenticate here: nginx's auth_basic already put its Basic challenge on
		 * this response before handing it over; a second one would be a duplicate. */
		break;
	case ERR_DATABASE_UNAVAILABLE:
		snprintf(headers, sizeof(headers), "Retry-After: 2\r\n");
		break;
	case ERR_RATE_LIMITED:
		snprintf(headers, sizeof(headers), "Retry-After: 3600\r\n");
		break;
	default:
		break;
	}
	http_send_error(r->out, e, NULL, errors, headers[0] ? headers : NULL);
	metrics_record_outside(db, req, endpoint, api_error_status(e));
}

bool
respond_feature_allowed(FCGX_Request *r, struct db *db, const struct http_request *req,
    const char *endpoint, const char *flag, enum api_error refusal)
{
	int on = flag_enabled(db, flag);

	if (on == 1)
		return true;
	respond_error(r, db, req, endpoint, on == 0 ? refusal :
	    db_lost(db) ? ERR_DATABASE_UNAVAILABLE : ERR_INTERNAL, NULL, NULL);
	return false;
}

cJSON *
respond_read_json(FCGX_Request *r, struct db *db, struct http_request *req,
    const char *endpoint, const struct config *cfg)
{
	enum api_error err;
	cJSON *root;

	if (!http_origin_allowed(req, cfg->origins, cfg->norigins)) {
		respond_error(r, db, req, endpoint, ERR_FORBIDDEN_ORIGIN, NULL, NULL);
		return NULL;
	}
	if (!http_is_json(req->content_type)) {
		respond_error(r, db, req, endpoint, ERR_UNSUPPORTED_MEDIA_TYPE, NULL, NULL);
		return NULL;
	}
	if (http_read_body(req, r->in, cfg->max_body_bytes, &err) != 0) {
		respond_error(r, db, req, endpoint, err, NULL, NULL);
		return NULL;
	}
	if ((root = json_parse_object(req->body, req->body_len)) == NULL)
		respond_error(r, db, req, endpoint, ERR_INVALID_JSON, NULL, NULL);
	return root;
}

bool
respond_validate_submission(FCGX_Request *r, struct db *db, const struct http_request *req,
    const char *endpoint, cJSON *root, struct submission *s)
{
	cJSON *errors;

	submission_parse(root, s);
	cJSON_Delete(root);
	if (submission_check_slots(db, s) != 0) {
		respond_error(r, db, req, endpoint,
		    db_lost(db) ? ERR_DATABASE_UNAVAILABLE : ERR_INTERNAL, NULL, NULL);
		return false;
	}
	if ((errors = submission_errors_json(s)) != NULL) {
		respond_error(r, db, req, endpoint, ERR_VALIDATION, errors, NULL);
		cJSON_Delete(errors);
		return false;
	}
	return true;
}

void
respond_representation(FCGX_Request *r, int status, const char *body, const char *token)
{
	cJSON *o = cJSON_Parse(body);
	char etag[48];

	if (o == NULL) {
		http_send_error(r->out, ERR_INTERNAL, NULL, NULL, NULL);
		return;
	}
	submission_etag(o, etag, sizeof(etag));
	if (token == NULL) {
		http_send(r->out, status, "application/json; charset=utf-8", etag, body, strlen(body));
	} else {
		cJSON_AddStringToObject(o, "edit_token", token);
		http_send_json(r->out, status, etag, o);
	}
	cJSON_Delete(o);
}
