/* admin_flags.h — the body of PUT /api/admin/fonctionnalites: {"nom": a known flag,
 * "active": true|false}, nothing else. */
#ifndef FIABLE_ADMIN_FLAGS_H
#define FIABLE_ADMIN_FLAGS_H

#include <stdbool.h>

#include <cjson/cJSON.h>

#include "flags.h"
#include "http.h"

/* Reads root: ERR_NONE with *flag and *enabled; ERR_VALIDATION with *errors (field ->
 * French message, to free); ERR_INTERNAL when memory ran out. */
enum api_error admin_flag_request(const cJSON *root, const struct flag_def **flag,
    bool *enabled, cJSON **errors);

#endif
