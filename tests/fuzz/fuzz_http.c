/* libFuzzer target: the header parsers (Content-Length, Idempotency-Key, Content-Type). */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "http.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *s = malloc(size + 1), uuid[37], clean[64];
	enum api_error err;
	size_t len;

	if (s == NULL)
		return 0;
	memcpy(s, data, size);
	s[size] = '\0';
	if (http_parse_content_length(s, 65536, &len, &err) == 0 && len > 65536)
		abort();
	if (http_parse_uuid(s, uuid) && strlen(uuid) != 36)
		abort();
	(void)http_is_json(s);
	http_sanitize(clean, sizeof(clean), s);
	free(s);
	return 0;
}
