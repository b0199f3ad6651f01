// SPDX-License-Identifier: GPL-2.0
/*
 * hugeslabctl load FILE: create the persistent pools of a configuration
 * file, the boot unit's job (hugeslab-pools.service).  One pool a line:
 *
 *   NAME SIZE [owner=USER] [group=GROUP] [mode=MODE] [node=N]   # comment
 *
 * The whole file is checked before anything is created, so a typo creates
 * nothing.  Loading twice is a no-op: a persistent pool that exists with
 * the size asked for is left alone; any other pool of that name is an
 * error, reported by line number.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctl.h"

int load_parse_line(const char *file, unsigned int lineno, char *line,
		    struct pool_spec *s)
{
	bool seen[4] = { false };
	static const char *const keys[] = { "owner", "group", "mode", "node" };
	char *tok, *save = NULL, *hash = strchr(line, '#');
	int n = 0;

	if (hash)
		*hash = 0;
	pool_spec_init(s);
	for (tok = strtok_r(line, " \t\r\n", &save); tok;
	     tok = strtok_r(NULL, " \t\r\n", &save), n++) {
		char *eq = strchr(tok, '=');
		int k;

		if (n == 0 || n == 1) {
			if (eq) {
				err_msg("%s:%u: expected NAME SIZE before \"%s\"", file,
					lineno, tok);
				return -1;
			}
			if (n == 0 ? spec_set_name(s, tok) : spec_set_size(s, tok))
				goto bad;
			continue;
		}
		for (k = 0; k < 4; k++)
			if (eq && (size_t)(eq - tok) == strlen(keys[k]) &&
			    !strncmp(tok, keys[k], eq - tok))
				break;
		if (k == 4) {
			err_msg("%s:%u: unknown setting \"%s\": owner=, group=, mode= or node=",
				file, lineno, tok);
			return -1;
		}
		if (seen[k]) {
			err_msg("%s:%u: %s= given twice", file, lineno, keys[k]);
			return -1;
		}
		seen[k] = true;
		eq++;
		if ((k == 0 && spec_set_owner(s, eq)) ||
		    (k == 1 && spec_set_group(s, eq)) ||
		    (k == 2 && spec_set_mode(s, eq)) ||
		    (k == 3 && spec_set_node(s, eq)))
			goto bad;
	}
	if (n == 0)
		return 1;
	if (n == 1) {
		err_msg("%s:%u: pool %s has no SIZE", file, lineno, s->name);
		return -1;
	}
	return 0;
bad:
	/* spec_set_*() said what; say where. */
	err_msg("%s:%u: in this line", file, lineno);
	return -1;
}

struct load_entry {
	struct pool_spec spec;
	unsigned int lineno;
};

/* Parse all of @f; returns the number of errors, @out owns the entries. */
static int load_parse(const char *file, FILE *f, struct load_entry **out,
		      int *nr)
{
	struct load_entry *v = NULL;
	unsigned int lineno = 0;
	int n = 0, cap = 0, errors = 0, i, r;
	char *line = NULL;
	size_t len = 0;

	while (getline(&line, &len, f) >= 0) {
		struct pool_spec s;

		r = load_parse_line(file, ++lineno, line, &s);
		if (r < 0)
			errors++;
		if (r)
			continue;
		for (i = 0; i < n; i++)
			if (!strcmp(v[i].spec.name, s.name))
				break;
		if (i < n) {
			err_msg("%s:%u: pool %s is already on line %u", file,
				lineno, s.name, v[i].lineno);
			errors++;
			continue;
		}
		if (n == cap) {
			struct load_entry *p = realloc(v, (cap * 2 + 8) * sizeof(*v));

			if (!p) {
				err_msg("%s: out of memory", file);
				errors++;
				break;
			}
			v = p;
			cap = cap * 2 + 8;
		}
		v[n].spec = s;
		v[n++].lineno = lineno;
	}
	if (ferror(f)) {
		err_msg("%s: read error: %s", file, strerror(errno));
		errors++;
	}
	free(line);
	*out = v;
	*nr = n;
	return errors;
}

/* An existing pool of @e's name: fine when persistent and the same size. */
static int load_check_existing(const char *file, const struct load_entry *e,
			       struct ctl *c, bool *have_ctl)
{
	struct pool_list l = { 0 };
	const struct pool_row *r;
	char a[32], b[32];
	int ret = EXIT_ERR;

	if (!*have_ctl) {
		if (ctl_open(c)) {
			err_msg("%s:%u: %s exists; without netlink its size cannot be checked",
				file, e->lineno, e->spec.name);
			return EXIT_ERR;
		}
		*have_ctl = true;
	}
	if (pool_dump(c, &l)) {
		err_msg("%s:%u: %s exists; the pool dump that would show its size failed",
			file, e->lineno, e->spec.name);
		return EXIT_ERR;
	}
	r = pool_find(&l, e->spec.name);
	if (!r)
		err_msg("%s:%u: %s exists, but is not in the dump: another user's pool (needs CAP_SYS_ADMIN to see), or it just went away",
			file, e->lineno, e->spec.name);
	else if (!(r->flags & HUGESLAB_CREATE_PERSISTENT))
		err_msg("%s:%u: %s is taken by a pool that is not persistent (creator pid %u)",
			file, e->lineno, e->spec.name, r->pid);
	else if (r->size != e->spec.size)
		err_msg("%s:%u: %s exists with size %s, this line asks for %s; destroy it first to change it",
			file, e->lineno, e->spec.name,
			fmt_size(r->size, a, sizeof(a)),
			fmt_size(e->spec.size, b, sizeof(b)));
	else
		ret = EXIT_OK;
	if (!ret)
		printf("%s:%u: %s exists, %s, left alone\n", file, e->lineno,
		       e->spec.name, fmt_size(r->size, a, sizeof(a)));
	free(l.rows);
	return ret;
}

int cmd_load(const char *file)
{
	struct load_entry *v = NULL;
	bool have_ctl = false;
	int nr, i, e, ret = EXIT_OK, r;
	struct ctl c;
	char a[32];
	FILE *f;

	f = fopen(file, "re");
	if (!f) {
		err_msg("cannot read %s: %s", file, strerror(errno));
		return errno == EACCES ? EXIT_PERM : EXIT_ERR;
	}
	r = load_parse(file, f, &v, &nr);
	fclose(f);
	if (r) {
		err_msg("%s: %d error(s), no pool created", file, r);
		free(v);
		return EXIT_USAGE;
	}
	for (i = 0; i < nr; i++) {
		e = pool_create_persistent(&v[i].spec);
		if (!e) {
			printf("%s:%u: created %s, %s\n", file, v[i].lineno,
			       v[i].spec.name, fmt_size(v[i].spec.size, a, sizeof(a)));
			continue;
		}
		if (e == EEXIST) {
			r = load_check_existing(file, &v[i], &c, &have_ctl);
		} else if (e == ENOENT || e == ENODEV || e == ENXIO) {
			err_msg("no %s: is the hugeslab module loaded?",
				HUGESLAB_DEVICE_PATH);
			ret = EXIT_NOMODULE;
			break;
		} else {
			err_msg("%s:%u: create %s: %s", file, v[i].lineno,
				v[i].spec.name, create_strerror(e));
			r = errno_exit(e);
		}
		/* Keep going: one bad pool does not hold back the others. */
		if (r && !ret)
			ret = r;
	}
	if (have_ctl)
		ctl_close(&c);
	free(v);
	return ret;
}
