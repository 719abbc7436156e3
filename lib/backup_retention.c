/* backup_retention.c — the retention policy of the cleanup: which backups are kept, and
 * why (daily, weekly, monthly, the newest). UTC. */
#include "backup.h"

#include <time.h>

static long long
floor_div(long long a, long long b)
{
	return a / b - (a % b != 0 && (a < 0) != (b < 0));
}

/* ISO weeks start on Monday; 1970-01-01 was a Thursday, three days after one. */
static long long
week_of(long long t)
{
	return floor_div(floor_div(t, 86400) + 3, 7);
}

static long long
month_of(long long t)
{
	time_t tt = (time_t)t;
	struct tm tm;

	if (gmtime_r(&tt, &tm) == NULL)
		return 0;
	return (long long)(tm.tm_year + 1900) * 12 + tm.tm_mon;
}

void
backup_retention(const struct retention_policy *p, long long now,
    struct retention_item *items, size_t n)
{
	long long this_week = week_of(now), this_month = month_of(now);
	long long last_week = 0, last_month = 0;
	bool have_week = false, have_month = false;
	size_t i;

	for (i = 0; i < n; i++) {
		struct retention_item *it = &items[i];
		long long w = week_of(it->time), mo = month_of(it->time);

		it->reasons = 0;
		if ((long long)i < p->min || i == 0)
			it->reasons |= RETAIN_MIN;
		if (now - it->time < (long long)p->daily * 86400)
			it->reasons |= RETAIN_DAILY;
		/* Newest first: the first item of a week or a month is its newest. */
		if (!have_week || w != last_week) {
			if (w > this_week - p->weekly)
				it->reasons |= RETAIN_WEEKLY;
			last_week = w;
			have_week = true;
		}
		if (!have_month || mo != last_month) {
			if (mo > this_month - p->monthly)
				it->reasons |= RETAIN_MONTHLY;
			last_month = mo;
			have_month = true;
		}
	}
}
