/* Every error code has its French page, static/problemes/<code>.html, exactly as
 * problem_page() writes it from api_errors: a new code, or a changed title or detail,
 * fails here until the pages are rewritten:
 *   build-test/tests/unit/test_problem_pages --write static/problemes
 * A page left for a code that no longer exists fails too. */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "http.h"
#include "problem_pages.h"
#include "unit.h"

/* The file's whole text (NUL-terminated, malloc'd), or NULL. */
static char *
slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	char *s = NULL;
	long n;

	if (f == NULL)
		return NULL;
	if (fseek(f, 0, SEEK_END) == 0 && (n = ftell(f)) >= 0 && fseek(f, 0, SEEK_SET) == 0 &&
	    (s = malloc((size_t)n + 1)) != NULL) {
		*len = fread(s, 1, (size_t)n, f);
		s[*len] = '\0';
	}
	fclose(f);
	return s;
}

static bool
is_code(const char *name)
{
	char page[96];
	int e;

	for (e = ERR_NONE + 1; e < ERR__MAX; e++) {
		snprintf(page, sizeof(page), "%s" HTTP_PROBLEM_PAGE_SUFFIX,
		    api_error_code((enum api_error)e));
		if (strcmp(name, page) == 0)
			return true;
	}
	return false;
}

int
main(int argc, char **argv)
{
	const char *dir = PROBLEM_PAGES_DIR;
	bool write = argc == 3 && strcmp(argv[1], "--write") == 0;
	char path[512];
	struct dirent *d;
	DIR *dp;
	int e;

	if (write)
		dir = argv[2];
	for (e = ERR_NONE + 1; e < ERR__MAX; e++) {
		struct buf t = BUF_INIT;
		const char *code = api_error_code((enum api_error)e);
		size_t len = 0;
		char *have;

		problem_page((enum api_error)e, &t);
		snprintf(path, sizeof(path), "%s/%s" HTTP_PROBLEM_PAGE_SUFFIX, dir, code);
		if (write) {
			FILE *f = fopen(path, "wb");
			CHECK(f != NULL && fwrite(t.p, 1, t.len, f) == t.len && fclose(f) == 0,
			    "%s non écrit", path);
		} else {
			have = slurp(path, &len);
			CHECK(have != NULL, "%s absent : réécrivez les pages (--write)", path);
			CHECK(have == NULL || (len == t.len && memcmp(have, t.p, len) == 0),
			    "%s n'est plus ce que dit api_errors : réécrivez les pages (--write)",
			    path);
			free(have);
		}
		CHECK(strstr(t.p, api_error_info((enum api_error)e)->title) != NULL,
		    "page de %s sans son titre", code);
		buf_free(&t);
	}
	if ((dp = opendir(dir)) != NULL) {
		while ((d = readdir(dp)) != NULL)
			if (d->d_name[0] != '.')
				CHECK(is_code(d->d_name), "%s/%s : aucun code ne l'a", dir, d->d_name);
		closedir(dp);
	}
	CHECK(dp != NULL, "dossier %s illisible", dir);
	return UNIT_END();
}
