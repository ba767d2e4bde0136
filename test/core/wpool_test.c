/* wpool_test.c: the worker pool's shared queue (src/core/wpool.c) with real
 * threads, each on a loop of its own, without Node: every task runs once
 * and its result comes back whole; a queued task can be cancelled; a worker
 * that detaches holding a task leaves its slot for the main side to reap,
 * with that task's id; every loop closes cleanly.
 *
 * Built and run by test/core.test.js against the system's libuv.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "wpool.h"

#include "check.h"

uint64_t __real_uv_hrtime(void);
uint64_t __wrap_uv_hrtime(void) {
  return __real_uv_hrtime();
}

#define NWORKERS 3
#define NTASKS 3000
#define QUIT 100000

typedef struct {
  unsigned char seen[NTASKS + 1];
  size_t n;
  int bad;
} results_t;

typedef struct {
  uv_thread_t thread;
  uintptr_t address;
  int slot;
  uv_loop_t loop;
  uva_wworker_t *w;
  size_t ran;
  int errors;       /* Checked by the main thread after the join. */
  int loop_closed;
} worker_t;

static void on_results(uva_wpool_t *p, uva_wresult_t *r, size_t count) {
  results_t *st = uva_wpool_data(p);
  size_t i;
  for (i = 0; i < count; i++) {
    char want[32];
    int n = snprintf(want, sizeof(want), "r:t%llu", (unsigned long long) r[i].id);
    if (r[i].id == 0 || r[i].id > NTASKS || r[i].status != 7 ||
        r[i].len != (size_t) n || memcmp(r[i].data, want, (size_t) n) != 0)
      st->bad++;
    else
      st->seen[r[i].id]++;
    st->n++;
    free(r[i].data);
  }
  free(r);
}

/* Runs the task, and the next ones it is handed in the same call, until
 * there is none (the worker is idle) or it is told to quit. */
static void run_tasks(worker_t *wk, uint64_t id, uint8_t *data, size_t len) {
  for (;;) {
    char out[64];
    uva_wbuf_t head;
    uva_wbuf_t tail;
    int n;
    if (len == 4 && memcmp(data, "quit", 4) == 0) {
      /* Detached holding this task: the main side reaps it. */
      free(data);
      uva_wworker_detach(wk->w, NULL);
      return;
    }
    n = snprintf(out, sizeof(out), "r:%.*s", (int) len, (const char *) data);
    free(data);
    wk->ran++;
    /* A head and a body, joined by the core. */
    head.base = out;
    head.len = 2;
    tail.base = out + 2;
    tail.len = (size_t) n - 2;
    if (uva_wworker_done(wk->w, id, 7, &head, &tail, &id, &data, &len) != 1)
      return;
  }
}

static void on_task(uva_wworker_t *w, uint64_t id, uint8_t *data, size_t len) {
  run_tasks(uva_wworker_data(w), id, data, len);
}

static void worker_main(void *arg) {
  worker_t *wk = arg;
  uint64_t id;
  uint8_t *data;
  size_t len;

  if (uv_loop_init(&wk->loop) != 0) {
    wk->errors++;
    return;
  }
  if (uva_wworker_attach(wk->address, wk->slot, &wk->loop, on_task, wk, &wk->w) != 0) {
    wk->errors++;
    uv_loop_close(&wk->loop);
    return;
  }
  if (uva_wworker_next(wk->w, &id, &data, &len) == 1)
    run_tasks(wk, id, data, len);
  /* Until it has detached: its handle was the loop's only one. */
  uv_run(&wk->loop, UV_RUN_DEFAULT);
  wk->loop_closed = uv_loop_close(&wk->loop) == 0;
}

static void test_pool(void) {
  uv_loop_t loop;
  results_t *st = calloc(1, sizeof(*st));
  worker_t wk[NWORKERS];
  uva_wpool_t *p;
  uint64_t i;
  size_t queued;
  size_t running;
  size_t starting;
  size_t ran = 0;
  int quits[NWORKERS] = {0};
  int w;

  CHECK(uv_loop_init(&loop) == 0);
  CHECK(uva_wpool_new(&loop, on_results, st, &p) == 0);
  uva_wpool_ref(p, 1);
  /* Queued before any worker exists. */
  for (i = 1; i <= NTASKS; i++) {
    char text[32];
    uva_wbuf_t h;
    h.base = text;
    h.len = (size_t) snprintf(text, sizeof(text), "t%llu", (unsigned long long) i);
    CHECK(uva_wpool_push(p, i, &h, NULL) == 0);
  }
  CHECK(uva_wpool_cancel(p, 5) == 1);
  CHECK(uva_wpool_cancel(p, 5) == 0);
  CHECK(uva_wpool_where(p, 6) == -1);
  uva_wpool_counts(p, &queued, &running, &starting);
  CHECK(queued == NTASKS - 1 && running == 0 && starting == 0);

  memset(wk, 0, sizeof(wk));
  for (w = 0; w < NWORKERS; w++) {
    wk[w].slot = uva_wpool_reserve(p);
    CHECK(wk[w].slot >= 0);
    wk[w].address = (uintptr_t) p;
  }
  /* Reserved, not attached: each counts as starting. */
  uva_wpool_counts(p, &queued, &running, &starting);
  CHECK(starting == NWORKERS);
  for (w = 0; w < NWORKERS; w++)
    CHECK(uv_thread_create(&wk[w].thread, worker_main, &wk[w]) == 0);
  while (st->n < NTASKS - 1 && uv_run(&loop, UV_RUN_ONCE) >= 0)
    ;
  CHECK(st->n == NTASKS - 1);
  CHECK(st->bad == 0);
  for (i = 1; i <= NTASKS; i++)
    CHECK(st->seen[i] == (i == 5 ? 0 : 1));

  /* One "quit" a worker: each detaches holding it. */
  for (w = 0; w < NWORKERS; w++) {
    uva_wbuf_t h;
    h.base = "quit";
    h.len = 4;
    CHECK(uva_wpool_push(p, QUIT + (uint64_t) w, &h, NULL) == 0);
  }
  for (w = 0; w < NWORKERS; w++) {
    uint64_t id;
    CHECK(uv_thread_join(&wk[w].thread) == 0);
    CHECK(wk[w].errors == 0);
    CHECK(wk[w].loop_closed);
    ran += wk[w].ran;
    id = uva_wpool_reap(p, wk[w].slot);
    CHECK(id >= QUIT && id < QUIT + NWORKERS);
    if (id >= QUIT && id < QUIT + NWORKERS)
      quits[id - QUIT]++;
    CHECK(uva_wpool_reap(p, wk[w].slot) == 0);  /* Let go once. */
  }
  for (w = 0; w < NWORKERS; w++)
    CHECK(quits[w] == 1);
  CHECK(ran == NTASKS - 1);
  uva_wpool_counts(p, &queued, &running, &starting);
  CHECK(queued == 0 && running == 0 && starting == 0);

  /* A slot reserved for a worker that never attached is let go too. */
  CHECK(uva_wpool_reserve(p) >= 0);
  uva_wpool_counts(p, &queued, &running, &starting);
  CHECK(starting == 1);
  uva_wpool_close(p, NULL);
  uv_run(&loop, UV_RUN_DEFAULT);
  CHECK(uv_loop_close(&loop) == 0);
  free(st);
}

int main(void) {
  test_pool();
  printf("wpool: %d checks, %d failed\n", checks, failures);
  return failures == 0 ? 0 : 1;
}
