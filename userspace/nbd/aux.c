// SPDX-License-Identifier: MIT
/*
 * aux.c: FLUSH, TRIM and WRITE_ZEROES of one worker, run as blocking
 * system calls (fdatasync, fallocate, BLKDISCARD, BLKZEROOUT) in a thread of
 * their own so that the worker's ring never waits on them.
 *
 * FLUSH items that queued up while the thread was busy share one
 * fdatasync() per export: each was received, so every write it must cover
 * had already completed, before that fdatasync() started. The reply is
 * sent only after @done, which runs after fdatasync() returned.
 *
 * Building with -DNBD_TEST_BROKEN_FLUSH replies to a FLUSH before the
 * fdatasync(): the negative control of test/t-durability.py.
 */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <unistd.h>

#include "nbd.h"

struct aux {
	pthread_t thread;
	pthread_mutex_t lock;
	pthread_cond_t cond;
	struct aux_item *head, *tail;
	bool stop;
	void (*done)(void *arg, struct aux_item *it);
	void *arg;
};

static void run_one(struct aux_item *it)
{
	bool no_hole = it->flags & NBD_CMD_FLAG_NO_HOLE;

	if (it->type == NBD_CMD_TRIM)
		it->res = export_trim(it->ex, it->off, it->len);
	else
		it->res = export_zero(it->ex, it->off, it->len, no_hole);
	if (!it->res && (it->flags & NBD_CMD_FLAG_FUA))
		it->res = export_flush(it->ex);
}

static void run_batch(struct aux *a, struct aux_item *list)
{
	struct aux_item *it, *j, *next;
	int res;

	for (it = list; it; it = it->next) {
		it->res = 1;	/* FLUSH: not done yet */
		if (it->type != NBD_CMD_FLUSH)
			run_one(it);
	}
	for (it = list; it; it = it->next) {
		if (it->type != NBD_CMD_FLUSH || it->res != 1)
			continue;
#ifdef NBD_TEST_BROKEN_FLUSH
		res = 0;	/* replied first, synced below: wrong */
#else
		res = export_flush(it->ex);
#endif
		for (j = it; j; j = j->next)
			if (j->type == NBD_CMD_FLUSH && j->ex == it->ex)
				j->res = res;
	}
#ifdef NBD_TEST_BROKEN_FLUSH
	{
		struct export *exs[NBD_EXPORTS_MAX];
		unsigned int n = 0, i;

		for (it = list; it; it = it->next)
			if (it->type == NBD_CMD_FLUSH && n < NBD_EXPORTS_MAX)
				exs[n++] = it->ex;
		for (it = list; it; it = next) {
			next = it->next;
			a->done(a->arg, it);
		}
		usleep(50000);
		for (i = 0; i < n; i++)
			export_flush(exs[i]);
		return;
	}
#endif
	for (it = list; it; it = next) {
		next = it->next;
		a->done(a->arg, it);
	}
}

static void *aux_main(void *arg)
{
	struct aux *a = arg;

	for (;;) {
		struct aux_item *list;

		pthread_mutex_lock(&a->lock);
		while (!a->head && !a->stop)
			pthread_cond_wait(&a->cond, &a->lock);
		list = a->head;
		a->head = a->tail = NULL;
		pthread_mutex_unlock(&a->lock);
		if (!list)
			break;
		run_batch(a, list);
	}
	return NULL;
}

struct aux *aux_start(void (*done)(void *arg, struct aux_item *it), void *arg)
{
	struct aux *a = calloc(1, sizeof(*a));
	int ret;

	if (!a)
		return NULL;
	pthread_mutex_init(&a->lock, NULL);
	pthread_cond_init(&a->cond, NULL);
	a->done = done;
	a->arg = arg;
	ret = pthread_create(&a->thread, NULL, aux_main, a);
	if (ret) {
		pthread_mutex_destroy(&a->lock);
		pthread_cond_destroy(&a->cond);
		free(a);
		errno = ret;
		return NULL;
	}
	return a;
}

void aux_submit(struct aux *a, struct aux_item *it)
{
	it->next = NULL;
	pthread_mutex_lock(&a->lock);
	if (a->tail)
		a->tail->next = it;
	else
		a->head = it;
	a->tail = it;
	pthread_cond_signal(&a->cond);
	pthread_mutex_unlock(&a->lock);
}

/* Runs what is queued, then ends the thread. */
void aux_stop(struct aux *a)
{
	pthread_mutex_lock(&a->lock);
	a->stop = true;
	pthread_cond_signal(&a->cond);
	pthread_mutex_unlock(&a->lock);
	pthread_join(a->thread, NULL);
	pthread_mutex_destroy(&a->lock);
	pthread_cond_destroy(&a->cond);
	free(a);
}
