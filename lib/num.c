/* num.c — checked integer parsing (see num.h). strtoll alone accepts leading spaces, a '+',
 * trailing garbage when the end pointer is not checked, and saturates silently on overflow. */
#include <ctype.h>
#include <errno.h>
#include <stdlib.h>

#include "num.h"

bool
num_parse(const char *text, long long min, long long max, long long *out)
{
	const char *p = text;
	char *end;
	long long n;

	if (text == NULL)
		return false;
	if (*p == '-')
		p++;
	if (!isdigit((unsigned char)*p))
		return false;
	errno = 0;
	n = strtoll(text, &end, 10);
	if (errno != 0 || *end != '\0' || n < min || n > max)
		return false;
	*out = n;
	return true;
}
