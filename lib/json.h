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
 * no member name twice at the top level, no member name at any depth that is not valid
 * UTF-8 text). Returns NULL for anything else. */
cJSON *json_parse_object(const char *text, size_t len);

/* The French message given for a member an endpoint does not know. */
extern const char json_unknown_member_message[];

/* For each member of object whose name is none of the nknown names of known, adds
 * "name": json_unknown_member_message to errors (a misspelled "commentair" is refused, not
 * silently dropped with what the person typed). Returns how many, or -1 when out of
 * memory. */
int json_unknown_members(const cJSON *object, const char *const *known, size_t nknown,
    cJSON *errors);

/* cJSON_PrintUnformatted that returns a malloc'd string (free with cJSON_free). */
char *json_print(const cJSON *item);

#endif
