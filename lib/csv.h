/* csv.h — the lines of the CSV files people export from a spreadsheet (the imports of slots
 * and of participants): fields separated by ';' or ',', optionally between double quotes
 * ("" inside for a quote), spaces around a field dropped. */
#ifndef FIABLE_CSV_H
#define FIABLE_CSV_H

#include <stdbool.h>
#include <stddef.h>

/* The fields of one line (no line break in it) into buf (len + max + 1 bytes at least),
 * unquoted and trimmed; fields[0..n-1] point into buf. Returns n, or -1 an unclosed quote,
 * -2 more than max fields, -3 text after a closing quote. */
int csv_split(const char *line, size_t len, char sep, char *buf, char **fields, int max);
/* True when the line holds only spaces and tabs. */
bool csv_blank(const char *s, size_t len);

#endif
