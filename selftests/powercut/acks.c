// SPDX-License-Identifier: GPL-2.0
/* The ack log: see acks.h. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "acks.h"

struct mark_ref {
	const char *name;
	size_t at;
};

static int mark_cmp(const void *a, const void *b)
{
	return strcmp(((const struct mark_ref *)a)->name,
		      ((const struct mark_ref *)b)->name);
}

static int ack_cmp(const void *a, const void *b)
{
	const struct ack *x = a, *y = b;

	/* Ties in file order: a later line about an extent is its newer version. */
	if (x->mark_at != y->mark_at)
		return (x->mark_at > y->mark_at) - (x->mark_at < y->mark_at);
	return (x->line > y->line) - (x->line < y->line);
}

int acks_load(struct ack_list *al, const char *path, const struct lw_log *log,
	      char *err)
{
	struct mark_ref *marks, key, *hit;
	size_t nmarks = 0, i, cap = 0, lineno = 0;
	char line[256], name[LW_MARK_MAX], kind[8];
	unsigned long long seq, off;
	unsigned int stream, len, crc;
	FILE *f;
	int ret = 0;

	memset(al, 0, sizeof(*al));
	err[0] = '\0';
	marks = calloc(log->nr ? log->nr : 1, sizeof(*marks));
	if (!marks)
		return -ENOMEM;
	for (i = 0; i < log->nr; i++)
		if (log->e[i].flags & LW_MARK)
			marks[nmarks++] = (struct mark_ref){ log->e[i].mark, i };
	qsort(marks, nmarks, sizeof(*marks), mark_cmp);
	f = fopen(path, "r");
	if (!f) {
		ret = -errno;
		goto out;
	}
	while (fgets(line, sizeof(line), f)) {
		struct ack one = { 0 };

		lineno++;
		if (sscanf(line, "%63s %7s", name, kind) == 2 && !strcmp(kind, "rec") &&
		    sscanf(line, "%*s %*s %u %llu", &stream, &seq) == 2) {
			one.kind = ACK_REC;
			one.stream = stream;
			one.seq = seq;
		} else if (sscanf(line, "%63s %7s", name, kind) == 2 && !strcmp(kind, "ext") &&
			   sscanf(line, "%*s %*s %llu %u %x", &off, &len, &crc) == 3 && len) {
			one.kind = ACK_EXT;
			one.off = off;
			one.len = len;
			one.crc = crc;
		} else {
			snprintf(err, ACKS_ERR_MAX,
				 "line %zu: not \"MARK rec STREAM SEQ\" or \"MARK ext OFF LEN CRC\"",
				 lineno);
			ret = -EINVAL;
			break;
		}
		key.name = name;
		hit = bsearch(&key, marks, nmarks, sizeof(*marks), mark_cmp);
		if (!hit) {
			snprintf(err, ACKS_ERR_MAX, "line %zu: mark %s is not in the log",
				 lineno, name);
			ret = -ENOENT;
			break;
		}
		if (al->nr == cap) {
			struct ack *a;

			cap = cap ? cap * 2 : 256;
			a = realloc(al->a, cap * sizeof(*a));
			if (!a) {
				ret = -ENOMEM;
				break;
			}
			al->a = a;
		}
		one.mark_at = hit->at;
		one.line = lineno;
		al->nr_ext += one.kind == ACK_EXT;
		al->a[al->nr++] = one;
	}
	if (!ret && ferror(f))
		ret = -EIO;
	fclose(f);
	if (!ret)
		qsort(al->a, al->nr, sizeof(*al->a), ack_cmp);
out:
	free(marks);
	if (ret)
		acks_free(al);
	return ret;
}

void acks_free(struct ack_list *al)
{
	free(al->a);
	al->a = NULL;
	al->nr = 0;
}
