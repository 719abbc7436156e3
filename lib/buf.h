/* buf.h — a growing byte string, always NUL-terminated. After a failed allocation every
 * append is a no-op and failed stays set: the caller checks it once, when the text is done. */
#ifndef FIABLE_BUF_H
#define FIABLE_BUF_H

#include <stdbool.h>
#include <stddef.h>

struct buf {
	char *p;           /* NULL until the first append */
	size_t len, cap;
	bool failed;       /* an allocation failed (or a format could not be written) */
};

#define BUF_INIT { NULL, 0, 0, false }

/* Appends n bytes of s. */
void buf_add(struct buf *b, const void *s, size_t n);
/* Appends the string s. */
void buf_adds(struct buf *b, const char *s);
/* Appends a formatted string. */
void buf_printf(struct buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Empties the text, keeping its memory (and failed). */
void buf_clear(struct buf *b);
/* Frees the text; b is empty again and can be reused. */
void buf_free(struct buf *b);

#endif
