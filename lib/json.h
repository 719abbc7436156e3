/* json.h — strict JSON parsing of request bodies over cJSON. */
#ifndef FIABLE_JSON_H
#define FIABLE_JSON_H

#include <stdbool.h>
#include <stddef.h>

#include <cjson/cJSON.h>

/* True when a JSON text contains the escape \u0000: cJSON would silently cut the string
 * there, so such a body is refused instead. Escaped backslashes are skipped correctly. */
bool json_has_nul_escape(const char *text, size_t len);

/* Parses exactly len bytes as one JSON object (no trailing data, no embedded NUL, no \u0000,
 * no member name twice at the top level). Returns NULL for anything else. */
cJSON *json_parse_object(const char *text, size_t len);

/* cJSON_PrintUnformatted that returns a malloc'd string (free with cJSON_free). */
char *json_print(const cJSON *item);

#endif
