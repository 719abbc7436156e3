/* libFuzzer target: a request body through the strict JSON parser and the validation. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "json.h"
#include "validate.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct submission s;
	cJSON *root, *errs;

	root = json_parse_object((const char *)data, size);
	if (root == NULL)
		return 0;
	submission_parse(root, &s);
	errs = submission_errors_json(&s);
	/* A valid submission has every value set, trimmed and within bounds. */
	if (errs == NULL && (s.email == NULL || s.name == NULL || s.nslots == 0 ||
	    strlen(s.email) > EMAIL_MAX_LEN || utf8_text_length(s.name, false) > NAME_MAX_CHARS))
		abort();
	cJSON_Delete(errs);
	cJSON_Delete(root);
	submission_free(&s);
	return 0;
}
