/* problem_pages.h — the French page of each error code, written from the table api_errors
 * (lib/http.c), so that a problem's "type" (/problemes/<code>.html) resolves to a page a
 * person can read. The pages are static files (static/problemes/), checked against this
 * function by tests/unit/test_problem_pages.c, which also rewrites them (--write DIR). */
#ifndef FIABLE_PROBLEM_PAGES_H
#define FIABLE_PROBLEM_PAGES_H

#include "buf.h"
#include "http.h"

/* Appends the HTML page of error e (ERR_NONE < e < ERR__MAX) to t. */
void problem_page(enum api_error e, struct buf *t);

#endif
