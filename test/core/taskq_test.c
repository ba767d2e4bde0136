/* taskq_test.c: the core's task queue on its own libuv loop, without Node:
 * priority order (FIFO among equals), removal, priority changes, drops,
 * concurrency, pause, and the interval window with its timer (never early;
 * carryover), checked against a model of the order over random runs.
 *
 * Built and run by test/core.test.js against the system's libuv; every case
 * ends with uv_loop_close() == 0.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "uva.h"

#include "check.h"

/* The tests steer the core's clock through -Wl,--wrap=uv_hrtime (see
 * core_test.c); here it runs unskewed. */
uint64_t __real_uv_hrtime(void);
uint64_t __wrap_uv_hrtime(void) {
  return __real_uv_hrtime();
}

typedef struct {
  uint32_t ids[64];
  uint64_t at[64];
  size_t n;
} started_t;

static void on_window(uva_taskq_t *q, const uint32_t *ids, size_t count) {
  started_t *s = q->data;
  size_t i;
  for (i = 0; i < count && s->n < 64; i++) {
    s->ids[s->n] = ids[i];
    s->at[s->n] = uv_hrtime();
    s->n++;
  }
}

static void on_timers(uva_timers_t *t, const uint32_t *ids, size_t count) {
  (void) t;
  (void) ids;
  (void) count;
}

static void close_loop(uv_loop_t *loop, uva_timers_t *t) {
  uva_timers_close(t, NULL);
  CHECK(uv_run(loop, UV_RUN_DEFAULT) == 0);
  CHECK(uv_loop_close(loop) == 0);
}

static void test_order(void) {
  uv_loop_t loop;
  uva_timers_t t;
  uva_taskq_t q;
  uint32_t a, b, c, d, e, id;
  started_t s;

  memset(&s, 0, sizeof(s));
  CHECK(uv_loop_init(&loop) == 0);
  CHECK(uva_timers_init(&loop, &t, on_timers) == 0);
  q.data = &s;
  CHECK(uva_taskq_init(&q, &t, 1, 0, 0, 0, on_window) == 0);
  CHECK(uva_taskq_add(&q, 0, &id) == UVA_NOW); /* Room: starts at once. */
  CHECK(uva_taskq_pending(&q) == 1);
  CHECK(uva_taskq_add(&q, 0, &a) == UVA_WAIT);
  CHECK(uva_taskq_add(&q, 0, &b) == UVA_WAIT);
  CHECK(uva_taskq_add(&q, 5, &c) == UVA_WAIT);
  CHECK(uva_taskq_add(&q, -1, &d) == UVA_WAIT);
  CHECK(uva_taskq_add(&q, 5, &e) == UVA_WAIT);
  CHECK(uva_taskq_size(&q) == 5);
  CHECK(uva_taskq_size_by(&q, 5) == 2);
  CHECK(uva_taskq_next(&q, &id) == 0); /* The slot is taken. */
  CHECK(uva_taskq_set_priority(&q, b, 9) == 1);
  CHECK(uva_taskq_remove(&q, e) == 1);
  CHECK(uva_taskq_remove(&q, e) == 0); /* Gone already. */
  /* Order now: b (9), c (5), a (0), d (-1). */
  uva_taskq_done(&q);
  CHECK(uva_taskq_next(&q, &id) == 1 && id == b);
  CHECK(uva_taskq_next(&q, &id) == 0);
  uva_taskq_done(&q);
  CHECK(uva_taskq_next(&q, &id) == 1 && id == c);
  uva_taskq_pause(&q, 1);
  uva_taskq_done(&q);
  CHECK(uva_taskq_next(&q, &id) == 0); /* Paused. */
  CHECK(uva_taskq_pending(&q) == 0);
  uva_taskq_pause(&q, 0);
  uva_taskq_set_concurrency(&q, 2);
  CHECK(uva_taskq_next(&q, &id) == 1 && id == a);
  CHECK(uva_taskq_next(&q, &id) == 1 && id == d);
  CHECK(uva_taskq_size(&q) == 0);
  CHECK(uva_taskq_set_priority(&q, a, 1) == 0); /* Started: no longer waiting. */
  CHECK(uva_taskq_add(&q, 0, &a) == UVA_WAIT);
  CHECK(uva_taskq_drop(&q, &id) == 1 && id == a);
  CHECK(uva_taskq_drop(&q, &id) == 0);
  uva_taskq_free(&q);
  close_loop(&loop, &t);
}

/* Random adds, removals, priority changes and starts, against a model: a
 * list of (id, priority, seq), the best one highest priority, then lowest
 * seq. */
typedef struct {
  uint32_t id;
  double priority;
  uint64_t seq;
} model_t;

static uint64_t rnd_state = 88172645463325252ull;
static uint32_t rnd(uint32_t n) {
  rnd_state ^= rnd_state << 13;
  rnd_state ^= rnd_state >> 7;
  rnd_state ^= rnd_state << 17;
  return (uint32_t) (rnd_state % n);
}

static void test_model(void) {
  uv_loop_t loop;
  uva_timers_t t;
  uva_taskq_t q;
  static model_t m[4096];
  size_t n = 0;
  uint64_t seq = 0;
  int run;
  int op;

  CHECK(uv_loop_init(&loop) == 0);
  CHECK(uva_timers_init(&loop, &t, on_timers) == 0);
  for (run = 0; run < 100; run++) {
    q.data = NULL;
    CHECK(uva_taskq_init(&q, &t, 1, 0, 0, 0, on_window) == 0);
    uva_taskq_pause(&q, 1); /* Everything waits; next() is driven below. */
    n = 0;
    for (op = 0; op < 500; op++) {
      uint32_t k = rnd(10);
      uint32_t id;
      if (k < 5 && n < 4096) {
        double p = (double) rnd(4);
        CHECK(uva_taskq_add(&q, p, &id) == UVA_WAIT);
        m[n].id = id;
        m[n].priority = p;
        m[n].seq = seq++;
        n++;
      } else if (k < 6 && n > 0) {
        size_t i = rnd((uint32_t) n);
        CHECK(uva_taskq_remove(&q, m[i].id) == 1);
        m[i] = m[--n];
      } else if (k < 7 && n > 0) {
        size_t i = rnd((uint32_t) n);
        m[i].priority = (double) rnd(4);
        m[i].seq = seq++; /* To the back of its new level. */
        CHECK(uva_taskq_set_priority(&q, m[i].id, m[i].priority) == 1);
      } else if (n > 0) {
        size_t best = 0;
        size_t i;
        for (i = 1; i < n; i++)
          if (m[i].priority > m[best].priority ||
              (m[i].priority == m[best].priority && m[i].seq < m[best].seq))
            best = i;
        uva_taskq_pause(&q, 0);
        CHECK(uva_taskq_next(&q, &id) == 1);
        CHECK(id == m[best].id);
        uva_taskq_done(&q);
        uva_taskq_pause(&q, 1);
        m[best] = m[--n];
      }
      CHECK(uva_taskq_size(&q) == n);
    }
    uva_taskq_free(&q);
  }
  close_loop(&loop, &t);
}

static void test_window(void) {
  uv_loop_t loop;
  uva_timers_t t;
  uva_taskq_t q;
  started_t s;
  uint32_t id;
  uint64_t t0;
  int i;

  memset(&s, 0, sizeof(s));
  CHECK(uv_loop_init(&loop) == 0);
  CHECK(uva_timers_init(&loop, &t, on_timers) == 0);
  q.data = &s;
  /* 2 a window of 30 ms, no concurrency limit. */
  CHECK(uva_taskq_init(&q, &t, 0, 2, 30, 0, on_window) == 0);
  uv_update_time(&loop);
  t0 = uv_hrtime();
  CHECK(uva_taskq_add(&q, 0, &id) == UVA_NOW);
  CHECK(uva_taskq_add(&q, 0, &id) == UVA_NOW);
  for (i = 0; i < 4; i++)
    CHECK(uva_taskq_add(&q, 0, &id) == UVA_WAIT);
  CHECK(uva_taskq_rate_limited(&q) == 1);
  /* The timer starts two more at each window's end; they end at once. */
  while (s.n < 4 && uv_run(&loop, UV_RUN_ONCE) >= 0) {
    while (uva_taskq_pending(&q) > 0)
      uva_taskq_done(&q);
  }
  CHECK(s.n == 4);
  CHECK(s.at[0] - t0 >= 30000000ull && s.at[1] - t0 >= 30000000ull);
  CHECK(s.at[2] - t0 >= 60000000ull && s.at[3] - t0 >= 60000000ull);
  CHECK(uva_taskq_size(&q) == 0);
  uva_taskq_free(&q);

  /* Carryover: a task still running takes a slot of the next window. */
  memset(&s, 0, sizeof(s));
  q.data = &s;
  CHECK(uva_taskq_init(&q, &t, 0, 2, 20, 1, on_window) == 0);
  CHECK(uva_taskq_add(&q, 0, &id) == UVA_NOW);  /* Runs on. */
  CHECK(uva_taskq_add(&q, 0, &id) == UVA_NOW);
  uva_taskq_done(&q);                           /* One of them ended. */
  for (i = 0; i < 3; i++)
    CHECK(uva_taskq_add(&q, 0, &id) == UVA_WAIT);
  while (s.n < 1 && uv_run(&loop, UV_RUN_ONCE) >= 0)
    ;
  CHECK(s.n == 1); /* 2 - the one carried over. */
  CHECK(uva_taskq_size(&q) == 2);
  /* Freeing the queue with its timer armed leaves nothing behind. */
  uva_taskq_free(&q);
  close_loop(&loop, &t);
}

int main(void) {
  test_order();
  test_model();
  test_window();
  printf("taskq: %d checks, %d failed\n", checks, failures);
  return failures == 0 ? 0 : 1;
}
