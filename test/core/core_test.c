/* core_test.c: the C core on its own libuv loop, without Node.
 *
 * Built and run by test/core.test.js against the system's libuv.  Each case
 * ends by checking that the loop closes cleanly (uv_loop_close() == 0).
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "uva.h"

static int failures;
static int checks;

#define CHECK(cond)                                                        \
  do {                                                                     \
    checks++;                                                              \
    if (!(cond)) {                                                         \
      failures++;                                                          \
      fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__, __LINE__,     \
              #cond);                                                      \
    }                                                                      \
  } while (0)

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

int main(void) {
  test_timer_order_and_never_early();
  test_timer_restart_in_callback();
  test_timer_many();
  test_timer_close_with_pending();
  test_sched();
  test_backoff();
  printf("core: %d checks, %d failed\n", checks, failures);
  CHECK(strcmp(uva_err_name(UVA_EBADSTATE), "UVA_EBADSTATE") == 0);
  return failures == 0 ? 0 : 1;
}
