#include "respond.h"

#include <stdio.h>
#include <string.h>

#include "flags.h"
#include "json.h"
#include "metrics.h"
#include "submission.h"
#include "validate.h"

void
respond_record(struct call *call, int status)
{
	if (call->endpoint != NULL)
		metrics_record_outside(call->db, call->req, call->endpoint, status);
}

void
respond_problem(struct call *call, enum api_error e, const char *name, const cJSON *member)
{
	char headers[160];

	api_error_headers(e, call->allow, headers, sizeof(headers));
	http_send_error_member(call->fcgi->out, e, NULL, name, member,
	    headers[0] ? headers : NULL);
	respond_record(call, api_error_status(e));
}

void
respond_error(struct call *call, enum api_error e)
{
	respond_problem(call, e, NULL, NULL);
}

void
respond_db_failure(struct call *call)
{
	respond_error(call, db_lost(call->db) ? ERR_DATABASE_UNAVAILABLE : ERR_INTERNAL);
}

void
respond_json(struct call *call, int status, const char *extra_headers, const cJSON *json)
{
	http_send_json(call->fcgi->out, status, extra_headers, json);
	respond_record(call, status);
}

bool
respond_feature_allowed(struct call *call, const char *flag, enum api_error refusal)
{
	int on = flag_enabled(call->db, flag);

	if (on == 1)
		return true;
	if (on == 0)
		respond_error(call, refusal);
	else
		respond_db_failure(call);
	return false;
}

cJSON *
respond_read_json(struct call *call)
{
	struct http_request *req = call->req;
	enum api_error err;
	cJSON *root;

	if (!http_origin_allowed(req, call->cfg->origins, call->cfg->norigins)) {
		respond_error(call, ERR_FORBIDDEN_ORIGIN);
		return NULL;
	}
	if (!http_is_json(req->content_type)) {
		respond_error(call, ERR_UNSUPPORTED_MEDIA_TYPE);
		return NULL;
	}
	if (http_read_body(req, call->fcgi->in, call->cfg->max_body_bytes, &err) != 0) {
		respond_error(call, err);
		return NULL;
	}
	if ((root = json_parse_object(req->body, req->body_len)) == NULL)
		respond_error(call, ERR_INVALID_JSON);
	return root;
}

bool
respond_validate_submission(struct call *call, cJSON *root, struct submission *s)
{
	return respond_validate_submission_in(call, root, s, NULL);
}

bool
respond_validate_submission_in(struct call *call, cJSON *root, struct submission *s,
    const char *campaign_id)
{
	cJSON *errors;

	submission_parse(root, s);
	cJSON_Delete(root);
	if (submission_check_slots(call->db, s, campaign_id) != 0) {
		respond_db_failure(call);
		return false;
	}
	if ((errors = submission_errors_json(s)) != NULL) {
		respond_problem(call, ERR_VALIDATION, "errors", errors);
		cJSON_Delete(errors);
		return false;
	}
	return true;
}

void
respond_representation(struct call *call, int status, const char *body, const char *token)
{
	FCGX_Stream *out = call->fcgi->out;
	cJSON *o = cJSON_Parse(body);
	char etag[48];

	if (o == NULL) {
		http_send_error(out, ERR_INTERNAL, NULL, NULL, NULL);
		return;
	}
	submission_etag(o, etag, sizeof(etag));
	if (token == NULL) {
		http_send(out, status, "application/json; charset=utf-8", etag, body, strlen(body));
	} else {
		cJSON_AddStringToObject(o, "edit_token", token);
		http_send_json(out, status, etag, o);
	}
	cJSON_Delete(o);
}
