// SPDX-License-Identifier: MIT
/*
 * clock.c: the clock thread, which gives gets their timestamps.
 *
 * Owner tags and ages are what make a leak report useful, but reading a
 * clock on every get costs more than the rest of the get: clock_gettime()
 * of even the coarse clock is a 3.5-5 ns vDSO call here, against a cached
 * get+put of about 4 ns. A stamp taken only at refills, flushes or every N
 * gets is free but wrong for a thread that was idle: its first gets after
 * the pause would look as old as the pause. So while any pool exists, one
 * thread of the library wakes every __HS_CLOCK_MS ms, reads CLOCK_MONOTONIC
 * once and stores it, in ms, into every thread cache of every pool; a get
 * copies the stamp from its cache, a line it touches anyway. The cost is
 * 1000 / __HS_CLOCK_MS wake-ups per second of a process with pools, and
 * the cache line of each cache bouncing once per period.
 *
 * Lock order: hs_clock_life, then hs_clock_lock, then hs_global_lock.
 */
#include <errno.h>
#include <signal.h>
#include <time.h>

#include "internal.h"

static pthread_mutex_t hs_clock_life = PTHREAD_MUTEX_INITIALIZER;
static pthread_mutex_t hs_clock_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t hs_clock_cond;
static pthread_once_t hs_clock_once = PTHREAD_ONCE_INIT;
static pthread_t hs_clock_thread;
static unsigned int hs_clock_users;	/* hs_clock_life */
static bool hs_clock_stop;		/* hs_clock_lock */

/* CLOCK_MONOTONIC in ms, modulo 2^32: the unit of struct __hs_meta. */
uint32_t hs_clock_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint32_t)((uint64_t)ts.tv_sec * 1000U +
			  (uint64_t)ts.tv_nsec / 1000000U);
}

static void hs_clock_cond_init(void)
{
	pthread_condattr_t a;

	pthread_condattr_init(&a);
	pthread_condattr_setclock(&a, CLOCK_MONOTONIC);
	pthread_cond_init(&hs_clock_cond, &a);
	pthread_condattr_destroy(&a);
}

/* Store @now into every cache of every live pool. */
static void hs_clock_tick(uint32_t now)
{
	struct hs_pool_priv *p;
	unsigned int i;

	pthread_mutex_lock(&hs_global_lock);
	for (p = hs_pools; p; p = p->next) {
		if (p->dead || p->peer)
			continue;
		for (i = 1; i < HS_MAX_THREADS; i++) {
			struct __hs_cache *c = __atomic_load_n(&p->pub.__cache[i],
							       __ATOMIC_ACQUIRE);

			if (c)
				__hs_store(&c->stamp, now);
		}
	}
	pthread_mutex_unlock(&hs_global_lock);
}

static void *hs_clock_main(void *arg)
{
	struct timespec next;

	(void)arg;
	clock_gettime(CLOCK_MONOTONIC, &next);
	pthread_mutex_lock(&hs_clock_lock);
	while (!hs_clock_stop) {
		hs_clock_tick(hs_clock_ms());
		next.tv_nsec += __HS_CLOCK_MS * 1000000L;
		if (next.tv_nsec >= 1000000000L) {
			next.tv_nsec -= 1000000000L;
			next.tv_sec++;
		}
		/* The sleep, which hs_clock_put() cuts short. */
		pthread_cond_timedwait(&hs_clock_cond, &hs_clock_lock, &next);
	}
	pthread_mutex_unlock(&hs_clock_lock);
	return NULL;
}

/*
 * A pool needs the clock: start the thread for the first one. Fails with
 * the errno of pthread_create() (EAGAIN).
 */
int hs_clock_get(void)
{
	sigset_t all, old;
	int err = 0;

	pthread_once(&hs_clock_once, hs_clock_cond_init);
	pthread_mutex_lock(&hs_clock_life);
	if (hs_clock_users == 0) {
		hs_clock_stop = false;
		/* No signal may land on the library's thread. */
		sigfillset(&all);
		pthread_sigmask(SIG_SETMASK, &all, &old);
		err = pthread_create(&hs_clock_thread, NULL, hs_clock_main, NULL);
		pthread_sigmask(SIG_SETMASK, &old, NULL);
		/* Named before anyone can look, for top -H and t-clock. */
		if (!err)
			pthread_setname_np(hs_clock_thread, "hs-clock");
	}
	if (!err)
		hs_clock_users++;
	pthread_mutex_unlock(&hs_clock_life);
	if (err) {
		errno = err;
		return -1;
	}
	return 0;
}

/* The pool of an hs_clock_get() is gone: stop the thread with the last. */
void hs_clock_put(void)
{
	pthread_mutex_lock(&hs_clock_life);
	if (hs_clock_users && --hs_clock_users == 0) {
		pthread_mutex_lock(&hs_clock_lock);
		hs_clock_stop = true;
		pthread_cond_signal(&hs_clock_cond);
		pthread_mutex_unlock(&hs_clock_lock);
		pthread_join(hs_clock_thread, NULL);
	}
	pthread_mutex_unlock(&hs_clock_life);
}

/*
 * In the child after fork(): the thread was not copied and the parent's
 * pools are dead here (they hold no clock reference any more). The locks
 * may have been held by threads that do not exist in the child.
 */
void hs_clock_atfork_child(void)
{
	pthread_mutex_init(&hs_clock_life, NULL);
	pthread_mutex_init(&hs_clock_lock, NULL);
	if (hs_clock_users)
		hs_clock_cond_init();
	hs_clock_users = 0;
	hs_clock_stop = false;
}
