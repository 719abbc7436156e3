/* csv.c — see csv.h. */
#include "csv.h"

int
csv_split(const char *line, size_t len, char sep, char *buf, char **fields, int max)
{
	size_t i = 0, j;
	int n = 0;

	for (;;) {
		char *start = buf;

		if (n == max)
			return -2;
		fields[n++] = buf;
		for (j = i; j < len && (line[j] == ' ' || line[j] == '\t'); j++)
			;
		if (j < len && line[j] == '"') {
			for (j++;; j++) {
				if (j == len)
					return -1;
				if (line[j] == '"') {
					if (j + 1 < len && line[j + 1] == '"') {
						*buf++ = '"';
						j++;
						continue;
					}
					break;
				}
				*buf++ = line[j];
			}
			for (j++; j < len && (line[j] == ' ' || line[j] == '\t'); j++)
				;
			if (j < len && line[j] != sep)
				return -3;
		} else {
			for (; j < len && line[j] != sep; j++)
				*buf++ = line[j];
			while (buf > start && (buf[-1] == ' ' || buf[-1] == '\t'))
				buf--;
		}
		*buf++ = '\0';
		if (j >= len)
			return n;
		i = j + 1;
	}
}

bool
csv_blank(const char *s, size_t len)
{
	size_t i;

	for (i = 0; i < len; i++)
		if (s[i] != ' ' && s[i] != '\t')
			return false;
	return true;
}
