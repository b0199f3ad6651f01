// SPDX-License-Identifier: GPL-2.0
/*
 * Host test of hugeslabctl's parsers (ctl-persist.c, ctl-load.c): SIZE,
 * NAME, --mode, --owner, --group, --node, and the lines of a pools.conf,
 * each error with the message a user sees (its line number included).
 * Needs no module.  Prints TAP; exit 0 when every case passed.
 */
#define _GNU_SOURCE
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ctl.h"

static int nr_tests, nr_failed;
/* stderr of the call under test, to check what it told the user. */
static char errbuf[4096];

static void ok(int cond, const char *fmt, ...)
{
	va_list ap;

	nr_tests++;
	if (!cond)
		nr_failed++;
	printf("%sok %d - ", cond ? "" : "not ", nr_tests);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
}

/* Run @fn with stderr captured into errbuf. */
#define CAPTURE(expr) ({						\
	FILE *__f = tmpfile();						\
	int __saved = dup(2), __r;					\
	size_t __n;							\
	fflush(stderr);							\
	dup2(fileno(__f), 2);						\
	__r = (expr);							\
	fflush(stderr);							\
	dup2(__saved, 2);						\
	close(__saved);							\
	rewind(__f);							\
	__n = fread(errbuf, 1, sizeof(errbuf) - 1, __f);		\
	errbuf[__n] = 0;						\
	fclose(__f);							\
	__r;								\
})

static void test_size(void)
{
	static const struct { const char *in; uint64_t want; } good[] = {
		{ "2M", 2ULL << 20 }, { "4MiB", 4ULL << 20 }, { "1G", 1ULL << 30 },
		{ "2097152", 2ULL << 20 }, { "1T", 1ULL << 40 },
	};
	static const char *const bad[] = {
		"3M", "0", "2T", "abc", "-2M", "", "2X", "1K", "18446744073709551615G",
	};
	struct pool_spec s;
	size_t i;

	for (i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		pool_spec_init(&s);
		ok(!spec_set_size(&s, good[i].in) && s.size == good[i].want,
		   "size %s", good[i].in);
	}
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		pool_spec_init(&s);
		ok(CAPTURE(spec_set_size(&s, bad[i])) == -1 &&
		   strstr(errbuf, "multiple of 2 MiB"), "size \"%s\" refused, says why",
		   bad[i]);
	}
}

static void test_name(void)
{
	static const char *const bad[] = {
		"", "a/b", ".", "..", "with space", "x*",
		"abcdefghijklmnopqrstuvwxyz012345",	/* 32 characters */
	};
	struct pool_spec s;
	size_t i;

	pool_spec_init(&s);
	ok(!spec_set_name(&s, "fio0") && !strcmp(s.name, "fio0"), "name fio0");
	ok(!spec_set_name(&s, "abcdefghijklmnopqrstuvwxyz01234") &&
	   strlen(s.name) == 31, "name of 31 characters");
	ok(!spec_set_name(&s, "a.b_c-D9"), "name with . _ -");
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		ok(CAPTURE(spec_set_name(&s, bad[i])) == -1 &&
		   strstr(errbuf, "invalid pool name"), "name \"%s\" refused", bad[i]);
}

static void test_mode_node(void)
{
	static const char *const bad_mode[] = { "0778", "1000", "", "rw", "-1", "0x1ff" };
	static const char *const bad_node[] = { "1024", "-1", "", "0a" };
	struct pool_spec s;
	size_t i;

	pool_spec_init(&s);
	ok(!s.has_mode && s.node == -1, "defaults: no mode, no NUMA node");
	ok(!spec_set_mode(&s, "0600") && s.has_mode && s.mode == 0600, "mode 0600");
	ok(!spec_set_mode(&s, "660") && s.mode == 0660, "mode 660 is octal");
	ok(!spec_set_mode(&s, "0") && s.mode == 0, "mode 0");
	for (i = 0; i < sizeof(bad_mode) / sizeof(bad_mode[0]); i++)
		ok(CAPTURE(spec_set_mode(&s, bad_mode[i])) == -1 &&
		   strstr(errbuf, "octal"), "mode \"%s\" refused", bad_mode[i]);
	ok(!spec_set_node(&s, "1") && s.node == 1, "node 1");
	for (i = 0; i < sizeof(bad_node) / sizeof(bad_node[0]); i++)
		ok(CAPTURE(spec_set_node(&s, bad_node[i])) == -1 &&
		   strstr(errbuf, "NUMA node"), "node \"%s\" refused", bad_node[i]);
}

static void test_owner(void)
{
	struct pool_spec s;

	pool_spec_init(&s);
	ok(!spec_set_owner(&s, "root") && s.has_owner && s.uid == 0 && s.gid == 0,
	   "owner root: uid 0, its group 0");
	pool_spec_init(&s);
	ok(!spec_set_owner(&s, "nobody") && s.uid == 65534 && s.gid == 65534,
	   "owner nobody: 65534, group nogroup");
	pool_spec_init(&s);
	ok(!spec_set_owner(&s, "65534") && s.uid == 65534 && s.gid == 65534,
	   "owner by uid takes the passwd group");
	pool_spec_init(&s);
	ok(!spec_set_owner(&s, "4000000") && s.uid == 4000000,
	   "owner: a uid without a passwd entry");
	pool_spec_init(&s);
	ok(!spec_set_group(&s, "0") && !spec_set_owner(&s, "nobody") &&
	   s.uid == 65534 && s.gid == 0, "--group wins over the owner's group");
	ok(CAPTURE(spec_set_owner(&s, "no-such-user-hs")) == -1 &&
	   strstr(errbuf, "unknown user \"no-such-user-hs\""), "unknown user refused");
	ok(CAPTURE(spec_set_group(&s, "no-such-group-hs")) == -1 &&
	   strstr(errbuf, "unknown group"), "unknown group refused");
}

/* load_parse_line() on a copy of @text. */
static int parse(const char *text, unsigned int lineno, struct pool_spec *s)
{
	char line[256];

	snprintf(line, sizeof(line), "%s", text);
	return CAPTURE(load_parse_line("pools.conf", lineno, line, s));
}

static void test_conf_lines(void)
{
	static const struct { const char *line, *msg; } bad[] = {
		{ "fio0", "has no SIZE" },
		{ "fio0 8M bogus=1", "unknown setting \"bogus=1\"" },
		{ "fio0 8M mode=0600 mode=0644", "mode= given twice" },
		{ "fio0 owner=root", "expected NAME SIZE" },
		{ "fio0 3M", "multiple of 2 MiB" },
		{ "fio/0 4M", "invalid pool name" },
		{ "fio0 4M owner=no-such-user-hs", "unknown user" },
		{ "fio0 4M mode=9", "octal" },
		{ "fio0 4M node=x", "NUMA node" },
	};
	struct pool_spec s;
	size_t i;

	ok(parse("fio0 8M owner=nobody mode=0640 node=0 # for fio", 3, &s) == 0 &&
	   !strcmp(s.name, "fio0") && s.size == 8ULL << 20 && s.has_owner &&
	   s.uid == 65534 && s.has_mode && s.mode == 0640 && s.node == 0,
	   "full line with a comment");
	ok(parse("\tdb0   1G\r\n", 4, &s) == 0 && s.size == 1ULL << 30 &&
	   !s.has_owner && !s.has_mode && s.node == -1, "tabs, CRLF, defaults");
	ok(parse("warm 4M group=0", 5, &s) == 0 && s.has_group && !s.has_owner,
	   "group= alone");
	ok(parse("", 1, &s) == 1, "empty line skipped");
	ok(parse("   # only a comment", 2, &s) == 1, "comment line skipped");
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		ok(parse(bad[i].line, 7, &s) == -1 && strstr(errbuf, bad[i].msg) &&
		   strstr(errbuf, "pools.conf:7:"),
		   "\"%s\": %s, on line 7", bad[i].line, bad[i].msg);
}

int main(void)
{
	test_size();
	test_name();
	test_mode_node();
	test_owner();
	test_conf_lines();
	printf("1..%d\n", nr_tests);
	return nr_failed ? 1 : 0;
}
