/* The table of SQL statements: every entry of enum stmt has a name and a text, names are
 * unique, and the number of parameters matches the highest $N of the text. A missing entry
 * (an enum value appended without its row) makes db_exec see a NULL name at run time. */
#include <ctype.h>
#include <string.h>

#include "statements.h"
#include "unit.h"

/* The highest $N in sql. */
static int
highest_param(const char *sql)
{
	int n = 0;

	for (; *sql != '\0'; sql++)
		if (*sql == '$' && isdigit((unsigned char)sql[1])) {
			int v = 0;
			while (isdigit((unsigned char)sql[1]) && v < 1000)
				v = v * 10 + (*++sql - '0');
			if (v > n)
				n = v;
		}
	return n;
}

int
main(void)
{
	int i, j;

	for (i = 0; i < STMT__MAX; i++) {
		const struct stmt_def *d = stmt_get((enum stmt)i);
		CHECK(d->name != NULL && d->name[0] != '\0' && d->sql != NULL && d->sql[0] != '\0',
		    "instruction %d : nom ou texte manquant (ligne oubliée dans lib/statements.c ?)", i);
		if (d->name == NULL || d->sql == NULL)
			continue;
		CHECK(highest_param(d->sql) == d->nparams, "%s : %d paramètres déclarés, $%d dans "
		    "le texte", d->name, d->nparams, highest_param(d->sql));
		for (j = 0; j < i; j++) {
			const struct stmt_def *e = stmt_get((enum stmt)j);
			CHECK(e->name == NULL || strcmp(e->name, d->name) != 0,
			    "nom %s donné deux fois (%d et %d)", d->name, j, i);
		}
	}
	return UNIT_END();
}
