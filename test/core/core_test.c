/* core_test.c: the C core on its own libuv loop, without Node: timers,
 * scheduler, backoff, semaphore, queue, token bucket, and the fetcher
 * against a small HTTP/1.1 server on the same loop (keep-alive, a refused
 * connection, a request cancelled mid-transfer, a clean close).
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

/* ---- fetcher, against a small HTTP/1.1 server on the same loop ---- */

#define NREQ 20
#define NLIM 12 /* Through a second pool: one per host, 10 a second. */
#define NEXTRA 4 /* A redirect, a body over max_body, one cancelled while queued,
                  * folded header lines. */
#define NRES (NREQ + 5 + NLIM + NEXTRA)

typedef struct {
  uv_loop_t *loop;
  uv_tcp_t server;
  int port;
  int accepted;
  int open_clients;
  /* Results, by request index (the request's data is index + 1). */
  int status[NRES];
  char body[NRES][32];
  size_t body_len[NRES];
  int redirects[NRES];
  char final_url[NRES][64];
  char fold[NRES][32];
  uint32_t attempts[NRES];
  int has_header[NRES];
  const char *error[NRES];
  int retry_served;
  int delivered;
  int expected;
  uva_fetch_t *f;
  uva_fpool_t *pool;
  uva_fpool_t *limited;
  uint64_t delivered_at[NRES];
  uva_freq_t *stalled;
  uv_timer_t timer;
  int fetch_closed;
} http_test_t;

typedef struct {
  uv_tcp_t tcp;
  http_test_t *t;
  char buf[4096];
  size_t len;
} client_t;

static void on_client_closed(uv_handle_t *h) {
  client_t *c = h->data;
  c->t->open_clients--;
  free(c);
}

static void on_written(uv_write_t *w, int status) {
  (void) status;
  free(w->data);
  free(w);
}

static void on_alloc(uv_handle_t *h, size_t size, uv_buf_t *buf) {
  client_t *c = h->data;
  (void) size;
  buf->base = c->buf + c->len;
  buf->len = sizeof(c->buf) - c->len - 1;
}

static void respond(uv_stream_t *s, const char *text) {
  uv_write_t *w = malloc(sizeof(*w));
  size_t len = strlen(text);
  char *out = malloc(len);
  uv_buf_t b;
  memcpy(out, text, len);
  b = uv_buf_init(out, (unsigned) len);
  w->data = out;
  uv_write(w, s, &b, 1, on_written);
}

/* Answers every complete request with its path as the body; /stall never,
 * /retry with a 503 the first time, /busy with a 503 (Retry-After: 30)
 * every time, /chunked without a Content-Length. */
static void on_read(uv_stream_t *s, ssize_t n, const uv_buf_t *buf) {
  client_t *c = s->data;
  char *end;
  (void) buf;
  if (n < 0) {
    uv_close((uv_handle_t *) s, on_client_closed);
    return;
  }
  c->len += (size_t) n;
  c->buf[c->len] = '\0';
  while ((end = strstr(c->buf, "\r\n\r\n")) != NULL) {
    char path[64] = "";
    size_t used = (size_t) (end + 4 - c->buf);
    sscanf(c->buf, "GET %63s", path);
    if (strcmp(path, "/fold") == 0) {
      respond(s, "HTTP/1.1 200 OK\r\nX-Fold: a\r\n  bc  \r\n\t d\r\n   \r\n"
                 "Content-Length: 2\r\n\r\nok");
    } else if (strcmp(path, "/redirect") == 0) {
      respond(s, "HTTP/1.1 302 Found\r\nLocation: /0\r\nContent-Length: 0\r\n\r\n");
    } else if (strcmp(path, "/busy") == 0) {
      respond(s, "HTTP/1.1 503 Service Unavailable\r\nRetry-After: 30\r\nContent-Length: 0\r\n\r\n");
    } else if (strcmp(path, "/retry") == 0 && c->t->retry_served++ == 0) {
      respond(s, "HTTP/1.1 503 Service Unavailable\r\nRetry-After: 0\r\nContent-Length: 0\r\n\r\n");
    } else if (strcmp(path, "/chunked") == 0) {
      /* No Content-Length: the body grows as it comes, 3 x 2,000 bytes. */
      char chunk[2100];
      int i;
      respond(s, "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n");
      for (i = 0; i < 3; i++) {
        int n = snprintf(chunk, sizeof(chunk), "7d0\r\n%2000d\r\n", i);
        (void) n;
        respond(s, chunk);
      }
      respond(s, "0\r\n\r\n");
    } else if (strcmp(path, "/stall") != 0) {
      uv_write_t *w = malloc(sizeof(*w));
      char *out = malloc(256);
      int len = snprintf(out, 256,
                         "HTTP/1.1 200 OK\r\nContent-Length: %zu\r\n"
                         "X-Test: yes\r\n\r\n%s",
                         strlen(path), path);
      uv_buf_t b = uv_buf_init(out, (unsigned) len);
      w->data = out;
      uv_write(w, s, &b, 1, on_written);
    }
    memmove(c->buf, c->buf + used, c->len - used + 1);
    c->len -= used;
  }
}

static void on_connection(uv_stream_t *server, int status) {
  http_test_t *t = server->data;
  client_t *c = calloc(1, sizeof(*c));
  CHECK(status == 0);
  c->t = t;
  uv_tcp_init(t->loop, &c->tcp);
  c->tcp.data = c;
  CHECK(uv_accept(server, (uv_stream_t *) &c->tcp) == 0);
  t->accepted++;
  t->open_clients++;
  uv_read_start((uv_stream_t *) &c->tcp, on_alloc, on_read);
}

static void on_server_closed(uv_handle_t *h) {
  (void) h;
}

static void on_fetch_closed(void *data) {
  http_test_t *t = data;
  t->fetch_closed = 1;
}

static void on_timer_closed(uv_handle_t *h) {
  (void) h;
}

/* Everything delivered: close the engine (from a timer, as the addon does
 * from its cleanup, never from inside the delivery), the server, the rest. */
/* Closes the engine (whatever it still holds), the server and the timer. */
static void http_close(http_test_t *t) {
  uva_fetch_close(t->f, on_fetch_closed);
  uv_close((uv_handle_t *) &t->server, on_server_closed);
  uv_close((uv_handle_t *) &t->timer, on_timer_closed);
}

/* Runs the loop until everything is closed; `stop` runs after `ms` on the
 * test's timer. */
static void http_run(http_test_t *t, uv_timer_cb stop, uint64_t ms) {
  t->timer.data = t;
  uv_timer_start(&t->timer, stop, ms, 0);
  uv_run(t->loop, UV_RUN_DEFAULT);
}

/* After http_run: the engine said it closed, and the loop closes clean. */
static void http_end(http_test_t *t) {
  CHECK(t->fetch_closed == 1);
  CHECK(uv_loop_close(t->loop) == 0);
  free(t);
}

static void finish(uv_timer_t *timer) {
  http_test_t *t = timer->data;
  uva_fpool_close(t->pool);
  uva_fpool_close(t->limited);
  http_close(t);
}

/* Once all the others are delivered, the stalled request (still waiting
 * for an answer that never comes) is cancelled, from inside the delivery
 * callback as JS would; then everything is closed. */
static void maybe_finish(http_test_t *t) {
  uva_fpool_stats_t st;
  if (t->delivered != t->expected)
    return;
  uva_fpool_stats(t->pool, &st);
  CHECK(st.active == 1 && st.queued == 0);
  uva_fetch_cancel(t->stalled); /* Mid-transfer: never delivered. */
  t->stalled = NULL;
  uva_fpool_stats(t->pool, &st);
  CHECK(st.active == 0 && st.queued == 0);
  t->timer.data = t;
  uv_timer_start(&t->timer, finish, 0, 0);
}

static void on_fetched(uva_fetch_t *f, uva_freq_t **reqs, size_t count) {
  http_test_t *t = uva_fetch_data(f);
  size_t i;
  for (i = 0; i < count; i++) {
    const uva_fresult_t *r = uva_freq_result(reqs[i]);
    size_t k = (size_t) (uintptr_t) uva_freq_data(reqs[i]) - 1;
    size_t len = 0;
    uint8_t *body = uva_freq_take_body(reqs[i], &len);
    const char *h;
    CHECK(k < NRES);
    t->status[k] = r->status;
    t->error[k] = r->error;
    t->attempts[k] = r->attempts;
    t->delivered_at[k] = uv_hrtime();
    t->redirects[k] = r->redirects;
    if (r->url != NULL) snprintf(t->final_url[k], sizeof(t->final_url[k]), "%s", r->url);
    t->body_len[k] = len;
    if (len > 0 && len < sizeof(t->body[k])) memcpy(t->body[k], body, len);
    free(body);
    /* Header block: "name\0value\0" pairs, names in lower case. */
    for (h = r->headers; h != NULL && h < r->headers + r->headers_len; h += strlen(h) + 1) {
      if (strcmp(h, "x-test") == 0 && strcmp(h + strlen(h) + 1, "yes") == 0) t->has_header[k] = 1;
      if (strcmp(h, "x-fold") == 0) snprintf(t->fold[k], sizeof(t->fold[k]), "%s", h + strlen(h) + 1);
      h += strlen(h) + 1;
    }
    uva_freq_free(reqs[i]);
    t->delivered++;
  }
  maybe_finish(t);
}

static int free_port(uv_loop_t *loop) {
  uv_tcp_t tmp;
  struct sockaddr_in addr;
  struct sockaddr_storage name;
  int len = sizeof(name);
  uv_tcp_init(loop, &tmp);
  uv_ip4_addr("127.0.0.1", 0, &addr);
  uv_tcp_bind(&tmp, (const struct sockaddr *) &addr, 0);
  uv_tcp_getsockname(&tmp, (struct sockaddr *) &name, &len);
  uv_close((uv_handle_t *) &tmp, NULL);
  uv_run(loop, UV_RUN_NOWAIT);
  return ntohs(((struct sockaddr_in *) &name)->sin_port);
}

static uva_freq_t *request_in(uva_fpool_t *pool, const char *url, size_t index,
                              double timeout, int32_t retries) {
  uva_freq_opts_t o;
  uva_freq_t *r = NULL;
  memset(&o, 0, sizeof(o));
  o.url = url;
  o.method = "GET";
  o.max_redirects = 5;
  o.timeout = timeout;
  o.retries = retries; /* -1: the pool's. */
  CHECK(uva_freq_new(&o, (void *) (uintptr_t) (index + 1), &r) == 0);
  CHECK(uva_fetch_submit(pool, r) == 0);
  return r;
}

static uva_freq_t *request(http_test_t *t, const char *url, size_t index, double timeout,
                           int32_t retries) {
  return request_in(t->pool, url, index, timeout, retries);
}

/* A fresh loop with the test server listening and a fetch engine on it. */
static http_test_t *http_open(uv_loop_t *loop) {
  http_test_t *t = calloc(1, sizeof(*t));
  struct sockaddr_in addr;
  struct sockaddr_storage name;
  int len = sizeof(name);
  int err = 0;

  CHECK(uv_loop_init(loop) == 0);
  t->loop = loop;
  uv_tcp_init(loop, &t->server);
  t->server.data = t;
  uv_ip4_addr("127.0.0.1", 0, &addr);
  CHECK(uv_tcp_bind(&t->server, (const struct sockaddr *) &addr, 0) == 0);
  CHECK(uv_listen((uv_stream_t *) &t->server, 128, on_connection) == 0);
  uv_tcp_getsockname(&t->server, (struct sockaddr *) &name, &len);
  t->port = ntohs(((struct sockaddr_in *) &name)->sin_port);
  uv_timer_init(loop, &t->timer);
  t->f = uva_fetch_new(loop, on_fetched, t, &err);
  CHECK(t->f != NULL && err == 0);
  return t;
}

/* http_open, with t->pool made from `po`. */
static http_test_t *http_open_pool(uv_loop_t *loop, const uva_fpool_opts_t *po) {
  http_test_t *t = http_open(loop);
  CHECK(uva_fpool_new(t->f, po, &t->pool) == 0);
  return t;
}

static void test_fetch(void) {
  uv_loop_t loop;
  http_test_t *t = http_open(&loop);
  uva_fpool_opts_t po;
  uva_fpool_stats_t st;
  char url[128];
  size_t i;
  uint64_t t0;

  memset(&po, 0, sizeof(po));
  po.concurrency = 4;
  po.retries = 2;
  po.retry_delay = 1;
  po.retry_max_delay = 10;
  po.max_retry_after = 60000;
  CHECK(uva_fpool_new(t->f, &po, &t->pool) == 0);

  for (i = 0; i < NREQ; i++) {
    snprintf(url, sizeof(url), "http://127.0.0.1:%d/%zu", t->port, i);
    request(t, url, i, 10000, -1);
  }
  snprintf(url, sizeof(url), "http://127.0.0.1:%d/", free_port(&loop));
  request(t, url, NREQ, 10000, -1); /* Nobody listens there. */
  snprintf(url, sizeof(url), "http://127.0.0.1:%d/stall", t->port);
  t->stalled = request(t, url, NREQ + 1, 0, -1);
  snprintf(url, sizeof(url), "http://127.0.0.1:%d/retry", t->port);
  request(t, url, NREQ + 2, 10000, -1);
  snprintf(url, sizeof(url), "http://127.0.0.1:%d/stall", t->port);
  request(t, url, NREQ + 3, 100, 0); /* Times out, not retried. */
  snprintf(url, sizeof(url), "http://127.0.0.1:%d/chunked", t->port);
  request(t, url, NREQ + 4, 10000, -1);
  {
    const size_t x = NREQ + 5 + NLIM;
    uva_freq_opts_t o;
    uva_freq_t *r = NULL;
    snprintf(url, sizeof(url), "http://127.0.0.1:%d/redirect", t->port);
    request(t, url, x, 10000, -1);
    memset(&o, 0, sizeof(o));
    snprintf(url, sizeof(url), "http://127.0.0.1:%d/123456789", t->port);
    o.url = url;
    o.max_body = 4; /* The body is the path: 10 bytes. */
    o.retries = -1;
    CHECK(uva_freq_new(&o, (void *) (uintptr_t) (x + 1 + 1), &r) == 0);
    CHECK(uva_fetch_submit(t->pool, r) == 0);
    /* Cancelled while it waits in the queue (four are running). */
    uva_fetch_cancel(request(t, url, x + 2, 10000, -1));
    snprintf(url, sizeof(url), "http://127.0.0.1:%d/fold", t->port);
    request(t, url, x + 3, 10000, -1);
  }
  uva_fpool_stats(t->pool, &st);
  CHECK(st.active == 4 && st.queued == NREQ + 5 + 3 - 4);
  memset(&po, 0, sizeof(po));
  po.per_host = 1;
  po.per_second = 10; /* A burst of 10, then one every 100 ms. */
  CHECK(uva_fpool_new(t->f, &po, &t->limited) == 0);
  t0 = uv_hrtime();
  for (i = 0; i < NLIM; i++) {
    snprintf(url, sizeof(url), "http://127.0.0.1:%d/l%zu", t->port, i);
    request_in(t->limited, url, NREQ + 5 + i, 10000, -1);
  }
  uva_fpool_stats(t->limited, &st);
  CHECK(st.active == 1 && st.queued == NLIM - 1); /* One per host. */
  /* All but the stalled one, which is cancelled and never delivered. */
  t->expected = NREQ + 4 + NLIM + 3;

  uv_run(&loop, UV_RUN_DEFAULT);

  for (i = 0; i < NREQ; i++) {
    char want[16];
    snprintf(want, sizeof(want), "/%zu", i);
    CHECK(t->status[i] == 200);
    CHECK(strcmp(t->body[i], want) == 0);
    CHECK(t->has_header[i]);
    CHECK(t->error[i] == NULL);
  }
  CHECK(t->status[NREQ] == 0 && t->error[NREQ] != NULL && strcmp(t->error[NREQ], "ECONNREFUSED") == 0);
  CHECK(t->attempts[NREQ] == 3); /* Refused, retried twice. */
  CHECK(t->status[NREQ + 1] == 0 && t->error[NREQ + 1] == NULL); /* Cancelled. */
  CHECK(t->status[NREQ + 2] == 200 && t->attempts[NREQ + 2] == 2 && t->retry_served == 2);
  CHECK(t->status[NREQ + 3] == 0 && t->error[NREQ + 3] != NULL && strcmp(t->error[NREQ + 3], "ETIMEDOUT") == 0);
  CHECK(t->attempts[NREQ + 3] == 1);
  CHECK(t->status[NREQ + 4] == 200 && t->body_len[NREQ + 4] == 6000);
  {
    const size_t x = NREQ + 5 + NLIM;
    char want[64];
    snprintf(want, sizeof(want), "http://127.0.0.1:%d/0", t->port);
    CHECK(t->status[x] == 200 && strcmp(t->body[x], "/0") == 0);
    CHECK(t->redirects[x] == 1 && strcmp(t->final_url[x], want) == 0);
    CHECK(t->status[x + 1] == 0 && t->error[x + 1] != NULL && strcmp(t->error[x + 1], "EBODYTOOLARGE") == 0);
    CHECK(t->status[x + 2] == 0 && t->delivered_at[x + 2] == 0); /* Never delivered. */
    CHECK(t->status[x + 3] == 200 && strcmp(t->fold[x + 3], "a bc d") == 0);
  }
  for (i = 0; i < NLIM; i++) {
    char want[16];
    snprintf(want, sizeof(want), "/l%zu", i);
    CHECK(t->status[NREQ + 5 + i] == 200 && strcmp(t->body[NREQ + 5 + i], want) == 0);
    if (i > 0) /* One at a time, in order. */
      CHECK(t->delivered_at[NREQ + 5 + i] >= t->delivered_at[NREQ + 5 + i - 1]);
  }
  /* The 11th and 12th waited for tokens: 100 and 200 ms after the burst. */
  CHECK(t->delivered_at[NREQ + 5 + NLIM - 1] - t0 >= 190 * 1000000ull);
  CHECK(t->stalled == NULL);
  /* Kept-alive connections: at most five at once (four, plus one for the
   * second pool), and one more for each transfer that libcurl had to cut
   * off (the timeout, the body over max_body, the cancelled one): eight
   * at the very most for the 39 requests that connect. */
  CHECK(t->accepted >= 2 && t->accepted <= 8);
  CHECK(t->open_clients == 0);
  http_end(t);
}

/* The engine closed with transfers running, queued and waiting to retry,
 * as when a worker is terminated: nothing is delivered, nothing leaks
 * (ASan), and the loop closes cleanly. */
static void close_engine(uv_timer_t *timer) {
  http_test_t *t = timer->data;
  uva_fpool_stats_t st;
  uva_fpool_stats(t->pool, &st);
  CHECK(st.active == 4 && st.queued == 3); /* 2 queued + 1 waiting to retry. */
  http_close(t);
}

/* The core's clock, through the linker (-Wl,--wrap=uv_hrtime in
 * test/core.test.js): each read may jump ahead by hr_jump, as when the
 * process is preempted between two reads.  libuv's own clock is not
 * touched. */
uint64_t __real_uv_hrtime(void);
static uint64_t hr_skew;
static uint64_t hr_jump;
uint64_t __wrap_uv_hrtime(void) {
  hr_skew += hr_jump;
  return __real_uv_hrtime() + hr_skew;
}

static void stop_rate_test(uv_timer_t *timer) {
  http_test_t *t = timer->data;
  t->expected = t->delivered; /* What came before the deadline. */
  http_close(t);
}

/* The next token arrives between the pool's check (no token: wait) and the
 * wake-up's own check (a token: nothing to wait for).  The wake-up must
 * then be "now"; it used to be none at all, and the request never went. */
static void test_fetch_token_between_checks(void) {
  uv_loop_t loop;
  /* A burst of 20, then one every 50 ms. */
  http_test_t *t = http_open_pool(&loop, &(uva_fpool_opts_t){.per_second = 20});
  char url[128];
  size_t i;

  for (i = 0; i < 21; i++) {
    snprintf(url, sizeof(url), "http://127.0.0.1:%d/%zu", t->port, i);
    if (i == 20)
      hr_jump = 30 * 1000000; /* 0.6 of a token a clock read. */
    request(t, url, i, 10000, -1);
    hr_jump = 0;
  }
  http_run(t, stop_rate_test, 1500);
  CHECK(t->expected == 21);
  CHECK(t->status[20] == 200);
  http_end(t);
}

static void test_fetch_teardown(void) {
  uv_loop_t loop;
  http_test_t *t = http_open_pool(&loop, &(uva_fpool_opts_t){
      .concurrency = 4, .retries = 1, .max_retry_after = 60000});
  char url[128];
  size_t i;

  snprintf(url, sizeof(url), "http://127.0.0.1:%d/busy", t->port);
  request(t, url, 0, 10000, -1); /* Waits 30 s for its retry. */
  for (i = 1; i < 7; i++) {
    snprintf(url, sizeof(url), "http://127.0.0.1:%d/stall", t->port);
    request(t, url, i, 0, -1);
  }
  http_run(t, close_engine, 300);
  CHECK(t->delivered == 0);
  CHECK(t->open_clients == 0);
  http_end(t);
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
  test_fetch();
  test_fetch_teardown();
  test_fetch_token_between_checks();
  printf("core: %d checks, %d failed\n", checks, failures);
  CHECK(strcmp(uva_err_name(UVA_EBADSTATE), "UVA_EBADSTATE") == 0);
  return failures == 0 ? 0 : 1;
}
