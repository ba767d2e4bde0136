/* core_test.c: the C core on its own libuv loop, without Node: timers,
 * scheduler, backoff, semaphore, queue, token bucket.  (The fetcher's own
 * program: fetch_test.c.)
 *
 * Built and run by test/core.test.js against the system's libuv.  Each case
 * ends by checking that the loop closes cleanly (uv_loop_close() == 0).
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "uva.h"

#include "check.h"

/* ---- timers ---- */

#define MAX_FIRED 200000

typedef struct {
  uint64_t t0;
  uint32_t ids[MAX_FIRED];
  uint64_t at[MAX_FIRED];
  size_t n;
  size_t batches;
  int64_t restart_id;
  int restart;
} fired_log_t;

static void on_fired(uva_timers_t *t, const uint32_t *ids, size_t count) {
  fired_log_t *log = t->data;
  size_t i;
  uint64_t now = uv_hrtime();
  log->batches++;
  for (i = 0; i < count && log->n < MAX_FIRED; i++) {
    log->ids[log->n] = ids[i];
    log->at[log->n] = now;
    log->n++;
  }
  if (log->restart) {
    /* Starting a timer inside the callback must not reuse a fired id. */
    log->restart = 0;
    log->restart_id = uva_timers_start(t, 5);
    for (i = 0; i < count; i++)
      CHECK((uint32_t) log->restart_id != ids[i]);
  }
}

static int closed;
static void on_closed(void *handle) {
  (void) handle;
  closed++;
}

/* A fresh loop with a timer set whose expirations go to `log`. */
static void timers_open(uv_loop_t *loop, uva_timers_t *t, fired_log_t *log) {
  CHECK(log != NULL);
  CHECK(uv_loop_init(loop) == 0);
  t->data = log;
  CHECK(uva_timers_init(loop, t, on_fired) == 0);
}

static void test_timer_order_and_never_early(void) {
  uv_loop_t loop;
  uva_timers_t t;
  fired_log_t *log = calloc(1, sizeof(*log));
  int64_t a, b, c, d;

  timers_open(&loop, &t, log);
  log->t0 = uv_hrtime();
  a = uva_timers_start(&t, 30);
  b = uva_timers_start(&t, 10);
  c = uva_timers_start(&t, 20);
  d = uva_timers_start(&t, 15);
  CHECK(a >= 0 && b >= 0 && c >= 0 && d >= 0);
  CHECK(uva_timers_pending(&t) == 4);
  CHECK(uva_timers_clear(&t, (uint32_t) d) == 1);
  CHECK(uva_timers_clear(&t, (uint32_t) d) == 0); /* Already cleared. */
  CHECK(uva_timers_start(&t, -1) == UV_EINVAL);
  CHECK(uva_timers_start(&t, NAN) == UV_EINVAL);

  /* The loop returns once every timer fired: an empty set keeps nothing
   * alive. */
  CHECK(uv_run(&loop, UV_RUN_DEFAULT) == 0);
  CHECK(log->n == 3);
  CHECK(log->ids[0] == (uint32_t) b);
  CHECK(log->ids[1] == (uint32_t) c);
  CHECK(log->ids[2] == (uint32_t) a);
  CHECK(log->at[0] - log->t0 >= 10 * 1000000ull);
  CHECK(log->at[1] - log->t0 >= 20 * 1000000ull);
  CHECK(log->at[2] - log->t0 >= 30 * 1000000ull);
  CHECK(uva_timers_pending(&t) == 0);
  /* A stale id (its slot since reused) never clears the new timer. */
  {
    int64_t e = uva_timers_start(&t, 1);
    CHECK(uva_timers_clear(&t, (uint32_t) b) == 0 || e == b);
    CHECK(uva_timers_pending(&t) == 1);
    CHECK(uv_run(&loop, UV_RUN_DEFAULT) == 0);
  }

  uva_timers_close(&t, on_closed);
  closed = 0;
  CHECK(uv_run(&loop, UV_RUN_DEFAULT) == 0);
  CHECK(closed == 1);
  CHECK(uv_loop_close(&loop) == 0);
  free(log);
}

static void test_timer_restart_in_callback(void) {
  uv_loop_t loop;
  uva_timers_t t;
  fired_log_t *log = calloc(1, sizeof(*log));
  int i;

  timers_open(&loop, &t, log);
  for (i = 0; i < 10; i++)
    CHECK(uva_timers_start(&t, 1) >= 0);
  log->restart = 1;
  CHECK(uv_run(&loop, UV_RUN_DEFAULT) == 0);
  CHECK(log->n == 11); /* Ten, then the one started inside the batch. */
  CHECK(log->ids[10] == (uint32_t) log->restart_id);
  uva_timers_close(&t, NULL);
  CHECK(uv_run(&loop, UV_RUN_DEFAULT) == 0);
  CHECK(uv_loop_close(&loop) == 0);
  free(log);
}

static void test_timer_many(void) {
  uv_loop_t loop;
  uva_timers_t t;
  fired_log_t *log = calloc(1, sizeof(*log));
  static int64_t ids[100000];
  static double ms[100000];
  size_t i;
  int ordered = 1;
  uint64_t seed = 7;

  timers_open(&loop, &t, log);
  for (i = 0; i < 100000; i++) {
    seed = seed * 6364136223846793005ull + 1442695040888963407ull;
    ms[i] = (double) ((seed >> 33) % 50);
    ids[i] = uva_timers_start(&t, ms[i]);
  }
  for (i = 0; i < 100000; i += 2)
    CHECK(uva_timers_clear(&t, (uint32_t) ids[i]) == 1);
  CHECK(uva_timers_pending(&t) == 50000);
  CHECK(uv_run(&loop, UV_RUN_DEFAULT) == 0);
  CHECK(log->n == 50000);
  /* Every fired id is one that was not cleared, in deadline order. */
  for (i = 1; i < log->n; i++) {
    if (log->at[i] < log->at[i - 1])
      ordered = 0;
  }
  CHECK(ordered);
  CHECK(log->batches < 1000); /* Batched per loop turn, not one per timer. */
  uva_timers_close(&t, NULL);
  CHECK(uv_run(&loop, UV_RUN_DEFAULT) == 0);
  CHECK(uv_loop_close(&loop) == 0);
  free(log);
}

static void test_timer_close_with_pending(void) {
  uv_loop_t loop;
  uva_timers_t t;
  fired_log_t *log = calloc(1, sizeof(*log));
  int i;

  timers_open(&loop, &t, log);
  for (i = 0; i < 1000; i++)
    CHECK(uva_timers_start(&t, 60000) >= 0);
  closed = 0;
  uva_timers_close(&t, on_closed);
  CHECK(uva_timers_start(&t, 1) == UVA_EBADSTATE);
  CHECK(uv_run(&loop, UV_RUN_DEFAULT) == 0);
  CHECK(closed == 1);
  CHECK(log->n == 0); /* Pending timers are dropped, never called. */
  CHECK(uv_loop_close(&loop) == 0);
  free(log);
}

/* A chain of 0 ms timers, each started by the previous one's expiry, takes
 * one loop turn a link: the loop polls for I/O between them. */
typedef struct {
  int links;
  int turns;
} chain_t;

static void on_chain(uva_timers_t *t, const uint32_t *ids, size_t count) {
  chain_t *c = t->data;
  (void) ids;
  (void) count;
  if (++c->links < 50)
    CHECK(uva_timers_start(t, 0) >= 0);
}

static void on_turn(uv_check_t *h) {
  chain_t *c = h->data;
  c->turns++;
}

static void test_timer_zero_chain_yields(void) {
  uv_loop_t loop;
  uva_timers_t t;
  uv_check_t check;
  chain_t c = {0, 0};

  CHECK(uv_loop_init(&loop) == 0);
  t.data = &c;
  CHECK(uva_timers_init(&loop, &t, on_chain) == 0);
  uv_check_init(&loop, &check);
  check.data = &c;
  uv_check_start(&check, on_turn);
  uv_unref((uv_handle_t *) &check);
  CHECK(uva_timers_start(&t, 0) >= 0);
  uv_run(&loop, UV_RUN_DEFAULT);
  CHECK(c.links == 50);
  CHECK(c.turns >= 49); /* A loop turn between links, not one long phase. */
  uv_close((uv_handle_t *) &check, NULL);
  uva_timers_close(&t, on_closed);
  uv_run(&loop, UV_RUN_DEFAULT);
  CHECK(uv_loop_close(&loop) == 0);
}

/* ---- scheduler ---- */

static void test_sched(void) {
  uva_sched_t s;

  uva_sched_init(&s, 3, 10, 1);
  CHECK(uva_sched_open(&s) == 3);
  CHECK(uva_sched_open(&s) == 0); /* At the limit. */
  CHECK(uva_sched_report(&s, 4, 0) == 0);
  CHECK(uva_sched_report(&s, 0, 1) == UVA_SCHED_STOPPED);
  CHECK(uva_sched_report(&s, 0, 1) == 0); /* Said once. */
  CHECK(uva_sched_close(&s, 1, 0, 0) == 0);
  CHECK(uva_sched_open(&s) == 0); /* Stopped: nothing opens. */
  CHECK(uva_sched_close(&s, 2, 0, 0) == UVA_SCHED_DONE);

  uva_sched_init(&s, 8, 3, 0); /* Fewer items than the limit. */
  CHECK(uva_sched_open(&s) == 3);
  uva_sched_init(&s, 8, 0, 0);
  CHECK(uva_sched_open(&s) == 0);

  uva_sched_init(&s, UVA_SCHED_UNLIMITED, -1, 0); /* Grows one at a time. */
  CHECK(uva_sched_open(&s) == 1);
  CHECK(uva_sched_open(&s) == 1);
  CHECK(s.active == 2);

  uva_sched_init(&s, 2, -1, 0);
  CHECK(uva_sched_open(&s) == 2);
  CHECK(uva_sched_set_limit(&s, 5) == 3);
  CHECK(uva_sched_report(&s, 0, 3) == 0); /* Not stop-on-error. */
  CHECK(s.failed == 3);
}

/* ---- backoff ---- */

static void test_backoff(void) {
  uva_backoff_t b = {NULL, UVA_BACKOFF_EXPONENTIAL, 100, 2, INFINITY, 0};
  CHECK(uva_backoff_wait(&b, 1, 0) == 100);
  CHECK(uva_backoff_wait(&b, 3, 0) == 400);
  b.max_delay = 250;
  CHECK(uva_backoff_wait(&b, 3, 0) == 250);
  b.kind = UVA_BACKOFF_LINEAR;
  b.max_delay = INFINITY;
  CHECK(uva_backoff_wait(&b, 3, 0) == 300);
  b.kind = UVA_BACKOFF_FIXED;
  CHECK(uva_backoff_wait(&b, 9, 0) == 100);
  b.jitter = 0.5;
  CHECK(uva_backoff_wait(&b, 1, 0.999) > 50 && uva_backoff_wait(&b, 1, 0.999) <= 100);
  CHECK(uva_backoff_wait(&b, 1, 0) == 100);
}


/* ---- semaphore and queue ---- */

static void test_sem(void) {
  uva_sem_t s;
  uint32_t w1 = 0, w2 = 0, next = 0;

  uva_sem_init(&s, 1);
  CHECK(uva_sem_acquire(&s, &w1) == UVA_NOW);
  CHECK(uva_sem_acquire(&s, &w1) == UVA_WAIT);
  CHECK(uva_sem_acquire(&s, &w2) == UVA_WAIT);
  CHECK(w1 != w2);
  CHECK(uva_sem_pending(&s) == 2);
  CHECK(uva_sem_cancel(&s, w2) == 1);
  CHECK(uva_sem_cancel(&s, w2) == 0); /* Once. */
  CHECK(uva_sem_release(&s, &next) == 1 && next == w1); /* Passed on, FIFO. */
  CHECK(uva_sem_release(&s, &next) == 0);
  CHECK(uva_sem_release(&s, &next) == UVA_EBADSTATE); /* Nothing held. */
  uva_sem_free(&s);
}

static void test_queue(void) {
  uva_queue_t q;
  uint32_t id = 0, p1 = 0, g1 = 0, g2 = 0;
  int which = -1;

  uva_queue_init(&q, 2);
  CHECK(uva_queue_put(&q, &id) == UVA_Q_STORED);
  CHECK(uva_queue_put(&q, &id) == UVA_Q_STORED);
  CHECK(uva_queue_put(&q, &p1) == UVA_Q_WAIT); /* Full: backpressure. */
  CHECK(uva_queue_try_put(&q, &id) == 0);
  /* Taking the head lets the waiting putter's item in behind. */
  CHECK(uva_queue_get(&q, &id) == UVA_Q_TAKEN && id == p1);
  CHECK(q.size == 2);
  CHECK(uva_queue_get(&q, &id) == UVA_Q_TAKEN && id == UVA_Q_NONE);
  CHECK(uva_queue_get(&q, &id) == UVA_Q_TAKEN && id == UVA_Q_NONE);
  CHECK(uva_queue_try_get(&q, &id) == 0);
  CHECK(uva_queue_get(&q, &g1) == UVA_Q_WAIT);
  CHECK(uva_queue_get(&q, &g2) == UVA_Q_WAIT);
  CHECK(uva_queue_cancel_get(&q, g1) == 1);
  CHECK(uva_queue_cancel_get(&q, g1) == 0);
  /* A put goes straight to the first getter still waiting. */
  CHECK(uva_queue_put(&q, &id) == UVA_Q_HANDED && id == g2);
  CHECK(uva_queue_put(&q, &id) == UVA_Q_STORED);
  CHECK(uva_queue_get(&q, &g1) == UVA_Q_TAKEN);
  CHECK(uva_queue_get(&q, &g1) == UVA_Q_WAIT);
  CHECK(uva_queue_put(&q, &id) == UVA_Q_HANDED && id == g1);
  CHECK(uva_queue_put(&q, &id) == UVA_Q_STORED);
  /* Close: later puts refuse, gets drain what is left, then say done. */
  uva_queue_close(&q);
  CHECK(uva_queue_put(&q, &id) == UVA_Q_CLOSED);
  CHECK(uva_queue_drop_waiter(&q, &which, &id) == 0);
  CHECK(uva_queue_get(&q, &id) == UVA_Q_TAKEN);
  CHECK(uva_queue_get(&q, &id) == UVA_Q_DONE);
  uva_queue_free(&q);

  /* Waiters still waiting at close are handed back, putters first. */
  uva_queue_init(&q, 1);
  CHECK(uva_queue_get(&q, &g1) == UVA_Q_WAIT);
  uva_queue_close(&q);
  CHECK(uva_queue_drop_waiter(&q, &which, &id) == 1 && which == 1 && id == g1);
  CHECK(uva_queue_drop_waiter(&q, &which, &id) == 0);
  uva_queue_free(&q);
  uva_queue_init(&q, 1);
  CHECK(uva_queue_put(&q, &id) == UVA_Q_STORED);
  CHECK(uva_queue_put(&q, &p1) == UVA_Q_WAIT);
  uva_queue_close(&q);
  CHECK(uva_queue_drop_waiter(&q, &which, &id) == 1 && which == 0 && id == p1);
  CHECK(uva_queue_get(&q, &id) == UVA_Q_TAKEN && id == UVA_Q_NONE);
  uva_queue_free(&q);
}

/* The queue against a model of it, over random operations: every status,
 * every id handed back, and the size must be what the model says. */
#define QM_MAX 64

typedef struct {
  uint32_t ids[QM_MAX * 4];
  size_t n;
} idlist_t;

static void il_push(idlist_t *l, uint32_t id) {
  if (l->n < QM_MAX * 4) l->ids[l->n++] = id;
}

static uint32_t il_shift(idlist_t *l) {
  uint32_t id = l->ids[0];
  memmove(l->ids, l->ids + 1, (l->n - 1) * sizeof(l->ids[0]));
  l->n--;
  return id;
}

static int il_remove(idlist_t *l, uint32_t id) {
  size_t i;
  for (i = 0; i < l->n; i++) {
    if (l->ids[i] == id) {
      memmove(l->ids + i, l->ids + i + 1, (l->n - i - 1) * sizeof(l->ids[0]));
      l->n--;
      return 1;
    }
  }
  return 0;
}

static uint64_t qm_rng = 88172645463325252ull;
static uint32_t qm_rand(uint32_t n) {
  qm_rng ^= qm_rng << 13;
  qm_rng ^= qm_rng >> 7;
  qm_rng ^= qm_rng << 17;
  return (uint32_t) (qm_rng % n);
}

static void test_queue_model(void) {
  int round;
  for (round = 0; round < 200; round++) {
    uva_queue_t q;
    uint32_t cap = 1 + qm_rand(4);
    uint32_t size = 0;
    int closed = 0;
    /* Putters and getters are named in two id spaces of their own. */
    idlist_t putters, getters, gone_puts, gone_gets;
    int op;
    memset(&putters, 0, sizeof(putters));
    memset(&getters, 0, sizeof(getters));
    memset(&gone_puts, 0, sizeof(gone_puts));
    memset(&gone_gets, 0, sizeof(gone_gets));
    uva_queue_init(&q, cap);
    for (op = 0; op < 400; op++) {
      uint32_t id = 0;
      int rc;
      uint32_t r = qm_rand(100);
      if (r < 35 && putters.n + getters.n < QM_MAX) {
        rc = uva_queue_put(&q, &id);
        if (closed) CHECK(rc == UVA_Q_CLOSED);
        else if (getters.n > 0) CHECK(rc == UVA_Q_HANDED && id == il_shift(&getters));
        else if (size < cap && putters.n == 0) { CHECK(rc == UVA_Q_STORED); size++; }
        else { CHECK(rc == UVA_Q_WAIT); il_push(&putters, id); }
      } else if (r < 70 && putters.n + getters.n < QM_MAX) {
        rc = uva_queue_get(&q, &id);
        if (size > 0) {
          CHECK(rc == UVA_Q_TAKEN);
          if (putters.n > 0) CHECK(id == il_shift(&putters)); /* Moves in; size stays. */
          else { CHECK(id == UVA_Q_NONE); size--; }
        } else if (closed) {
          CHECK(rc == UVA_Q_DONE);
        } else {
          CHECK(rc == UVA_Q_WAIT);
          il_push(&getters, id);
        }
      } else if (r < 80 && putters.n > 0) {
        id = putters.ids[qm_rand((uint32_t) putters.n)];
        CHECK(uva_queue_cancel_put(&q, id) == 1);
        il_remove(&putters, id);
        il_push(&gone_puts, id);
      } else if (r < 90 && getters.n > 0) {
        id = getters.ids[qm_rand((uint32_t) getters.n)];
        CHECK(uva_queue_cancel_get(&q, id) == 1);
        il_remove(&getters, id);
        il_push(&gone_gets, id);
      } else if (r < 93 && gone_puts.n > 0) {
        /* An id that already left never names a newer waiter (a slot's
         * generation changes each time it is freed). */
        id = gone_puts.ids[qm_rand((uint32_t) gone_puts.n)];
        CHECK(uva_queue_cancel_put(&q, id) == 0);
      } else if (r < 95 && gone_gets.n > 0) {
        id = gone_gets.ids[qm_rand((uint32_t) gone_gets.n)];
        CHECK(uva_queue_cancel_get(&q, id) == 0);
      } else if (r < 97 && !closed) {
        int which = -1;
        uva_queue_close(&q);
        closed = 1;
        while (uva_queue_drop_waiter(&q, &which, &id)) {
          if (which == 0) CHECK(putters.n > 0 && id == il_shift(&putters));
          else CHECK(size == 0 && getters.n > 0 && id == il_shift(&getters));
        }
        CHECK(putters.n == 0);
        CHECK(size > 0 || getters.n == 0);
      }
      CHECK(q.size == size);
    }
    uva_queue_free(&q);
  }
}

/* ---- token bucket ---- */

typedef struct {
  uint32_t ids[8];
  size_t n;
  uint64_t t0;
  uint64_t at;
} granted_t;

static void on_granted(uva_bucket_t *b, const uint32_t *ids, const double *waited, size_t count) {
  granted_t *g = b->data;
  size_t i;
  for (i = 0; i < count && g->n < 8; i++) {
    g->ids[g->n++] = ids[i];
    CHECK(waited[i] >= 0);
  }
  g->at = uv_hrtime();
}

static void test_bucket(void) {
  uv_loop_t loop;
  uva_timers_t t;
  fired_log_t *log = calloc(1, sizeof(*log));
  uva_bucket_t b;
  granted_t g;
  uint32_t big = 0, small = 0, id = 0;

  memset(&g, 0, sizeof(g));
  timers_open(&loop, &t, log);
  b.data = &g;
  CHECK(uva_bucket_init(&b, &t, 100, 2, on_granted) == 0); /* 100/s, burst 2 */
  CHECK(uva_bucket_try(&b, 1) == 1);
  CHECK(uva_bucket_acquire(&b, 1, &id) == UVA_NOW);
  CHECK(uva_bucket_try(&b, 1) == 0); /* The burst is spent. */
  CHECK(uva_bucket_acquire(&b, 3, &id) == UV_EINVAL); /* Over capacity. */
  g.t0 = uv_hrtime();
  CHECK(uva_bucket_acquire(&b, 2, &big) == UVA_WAIT);
  CHECK(uva_bucket_acquire(&b, 1, &small) == UVA_WAIT);
  CHECK(uva_bucket_try(&b, 1) == 0); /* Nobody jumps the queue. */
  CHECK(uva_bucket_pending(&b) == 2);
  uv_run(&loop, UV_RUN_DEFAULT);
  /* First come, first served: the large one first; 3 tokens at 100/s. */
  CHECK(g.n == 2 && g.ids[0] == big && g.ids[1] == small);
  CHECK(g.at - g.t0 >= 29 * 1000000ull);
  CHECK(uva_bucket_pending(&b) == 0);
  uva_bucket_free(&b);
  uva_timers_close(&t, on_closed);
  uv_run(&loop, UV_RUN_DEFAULT);
  CHECK(uv_loop_close(&loop) == 0);
  free(log);
}

uint64_t __real_uv_hrtime(void);
uint64_t __wrap_uv_hrtime(void) {
  return __real_uv_hrtime();
}


int main(void) {
  test_timer_order_and_never_early();
  test_timer_restart_in_callback();
  test_timer_many();
  test_timer_close_with_pending();
  test_timer_zero_chain_yields();
  test_sched();
  test_backoff();
  test_sem();
  test_queue();
  test_queue_model();
  test_bucket();
  printf("core: %d checks, %d failed\n", checks, failures);
  CHECK(strcmp(uva_err_name(UVA_EBADSTATE), "UVA_EBADSTATE") == 0);
  return failures == 0 ? 0 : 1;
}
