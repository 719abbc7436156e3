/* num.h — the one way a number is read from text (a header, a setting, a query string, a
 * column of a result): the whole text must be a decimal integer within [min, max]. */
#ifndef FIABLE_NUM_H
#define FIABLE_NUM_H

#include <stdbool.h>

/* True and *out set when text is an optional '-' and decimal digits only (no spaces, no '+',
 * no empty text), without overflow, between min and max; otherwise false and *out unchanged. */
bool num_parse(const char *text, long long min, long long max, long long *out);

#endif
