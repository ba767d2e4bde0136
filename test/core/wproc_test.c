/* wproc_test.c: the process kind of the worker pool (src/core/wproc.c,
 * wchild.c, wframe.c) without Node: this program is both the pool and its
 * children (run with "child <how>").  Every task runs once and its result
 * comes back whole, small and large (read in place); a queued task can be
 * cancelled; a child that is killed, exits mid-task, writes what is no
 * frame, cannot start or exits before it is ready is reported with the
 * task it ran; a graceful stop ends a child with status 0; every handle
 * and the loop close cleanly.
 *
 * Built and run by test/core.test.js against the system's libuv.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "wproc.h"

#include "check.h"

uint64_t __real_uv_hrtime(void);
uint64_t __wrap_uv_hrtime(void) {
  return __real_uv_hrtime();
}

/* ---- the child ---------------------------------------------------------- */

static uv_loop_t child_loop;

static void on_child_closed(void *data) {
  (void)data;
}

/* The task's first byte says what to do: 'H' hang, 'X' exit(5), 'G' write
 * garbage to fd 3; else the bytes come back reversed, status len % 7. */
static void child_run(uva_wchild_t *c, uint64_t id, uint8_t *data,
                      size_t len) {
  for (;;) {
    uint8_t *out;
    size_t i;
    uva_wbuf_t body;
    if (id == 0) { /* The pool has gone. */
      uva_wchild_close(c, on_child_closed);
      return;
    }
    if (len > 0 && data[0] == 'H') {
      free(data);
      return;
    }
    if (len > 0 && data[0] == 'X')
      _exit(5);
    if (len > 0 && data[0] == 'G') {
      static const char junk[32] = "\xff\xff\xff\xff\xff\xff\xff\xff";
      free(data);
      if (write(3, junk, sizeof(junk)) < 0)
        _exit(9);
      return;
    }
    out = malloc(len ? len : 1);
    for (i = 0; i < len; i++)
      out[i] = data[len - 1 - i];
    free(data);
    body.base = out;
    body.len = len;
    if (!uva_wchild_done(c, id, (int)(len % 7), NULL, &body, &id, &data,
                         &len)) {
      free(out);
      return;
    }
    free(out);
  }
}

static int child_main(const char *how) {
  uva_wchild_t *c;
  uint64_t id;
  uint8_t *data;
  size_t len;
  uva_wbuf_t why = {"no module", 9};
  if (strcmp(how, "exit") == 0)
    _exit(4);
  uv_loop_init(&child_loop);
  if (uva_wchild_open(&child_loop, 3, child_run, NULL, &c) != 0)
    return 8;
  if (strcmp(how, "fail") == 0) {
    uva_wchild_send(c, UVA_WFRAME_FAILED, &why);
    uva_wchild_close(c, on_child_closed);
    uv_run(&child_loop, UV_RUN_DEFAULT);
    return 2;
  }
  uva_wchild_send(c, UVA_WFRAME_READY, NULL);
  if (uva_wchild_next(c, &id, &data, &len))
    child_run(c, id, data, len);
  uv_run(&child_loop, UV_RUN_DEFAULT);
  return uv_loop_close(&child_loop) == 0 ? 0 : 7;
}

/* ---- the pool ----------------------------------------------------------- */

#define NTASKS 400
#define MAXSLOT 8

typedef struct {
  uint8_t *sent[NTASKS + 1];
  size_t sent_len[NTASKS + 1];
  int seen[NTASKS + 1];
  size_t results;
  int bad;
  int ready[MAXSLOT];
  int failed[MAXSLOT];
  int exited[MAXSLOT];
  int64_t status[MAXSLOT];
  int signal[MAXSLOT];
  int closed;
} state_t;

static state_t st;

static void on_results(uva_wproc_t *p, uva_wresult_t *r, size_t n) {
  size_t i, j;
  (void)p;
  for (i = 0; i < n; i++) {
    uint64_t id = r[i].id;
    int ok = id >= 1 && id <= NTASKS && r[i].len == st.sent_len[id] &&
             r[i].status == (int)(r[i].len % 7);
    for (j = 0; ok && j < r[i].len; j++)
      ok = r[i].data[j] == st.sent[id][r[i].len - 1 - j];
    if (!ok)
      st.bad++;
    else
      st.seen[id]++;
    st.results++;
    free(r[i].data);
  }
  free(r);
}

static void on_event(uva_wproc_t *p, int slot, int event, int64_t status,
                     int signal, uint8_t *data, size_t len) {
  (void)p;
  if (slot < 0 || slot >= MAXSLOT) {
    st.bad++;
    free(data);
    return;
  }
  if (event == UVA_WPROC_READY)
    st.ready[slot]++;
  if (event == UVA_WPROC_FAILED)
    st.failed[slot] += len == 9 && memcmp(data, "no module", 9) == 0 ? 1 : 100;
  if (event == UVA_WPROC_EXIT) {
    st.exited[slot]++;
    st.status[slot] = status;
    st.signal[slot] = signal;
  }
  free(data);
}

static void on_pool_closed(void *data) {
  (void)data;
  st.closed = 1;
}

/* Runs the loop until *flag (10 s at most). */
static int wait_for(uv_loop_t *loop, volatile int *flag) {
  uint64_t end = uv_hrtime() + 10000000000ull;
  while (!*flag && uv_hrtime() < end)
    uv_run(loop, UV_RUN_ONCE);
  return *flag;
}

static int spawn(uva_wproc_t *p, const char *how) {
  char *args[] = {"wproc_test", "child", (char *)how, NULL};
  return uva_wproc_spawn(p, "/proc/self/exe", args, NULL);
}

static void push(uva_wproc_t *p, uint64_t id, const void *b, size_t n) {
  uva_wbuf_t head = {b, n > 3 ? 3 : n}, body = {(const uint8_t *)b + head.len,
                                                n - head.len};
  CHECK(uva_wproc_push(p, id, &head, &body) == 0);
}

int main(int argc, char **argv) {
  uv_loop_t loop;
  uva_wproc_t *p;
  int a, b, c, i;
  size_t queued, running, starting;
  if (argc == 3 && strcmp(argv[1], "child") == 0)
    return child_main(argv[2]);
  signal(SIGPIPE, SIG_IGN);
  CHECK(uv_loop_init(&loop) == 0);
  CHECK(uva_wproc_new(&loop, on_results, on_event, NULL, &p) == 0);
  uva_wproc_ref(p, 1); /* Work is pending (as JS says while it has tasks). */
  a = spawn(p, "echo");
  b = spawn(p, "echo");
  CHECK(a == 0 && b == 1);
  /* Spawned, not READY yet: starting. */
  uva_wproc_counts(p, &queued, &running, &starting);
  CHECK(starting == 2);

  /* Tasks of every size, some far larger than a socket takes at once. */
  for (i = 1; i <= NTASKS; i++) {
    size_t n = i % 50 == 0 ? (size_t)(3 << 20) + (size_t)i : (size_t)(i * 37) % 5000;
    size_t j;
    st.sent[i] = malloc(n ? n : 1);
    for (j = 0; j < n; j++)
      st.sent[i][j] = (uint8_t)('a' + (j * 7 + (size_t)i) % 26);
    st.sent_len[i] = n;
    push(p, (uint64_t)i, st.sent[i], n);
  }
  CHECK(uva_wproc_cancel(p, NTASKS) == 1); /* Still queued: gone. */
  CHECK(uva_wproc_cancel(p, NTASKS) == 0);
  {
    uint64_t end = uv_hrtime() + 20000000000ull;
    while (st.results < NTASKS - 1 && uv_hrtime() < end)
      uv_run(&loop, UV_RUN_ONCE);
  }
  CHECK(st.results == NTASKS - 1);
  CHECK(st.bad == 0);
  for (i = 1; i <= NTASKS; i++)
    CHECK(st.seen[i] == (i == NTASKS ? 0 : 1));
  CHECK(st.ready[a] == 1 && st.ready[b] == 1);
  uva_wproc_counts(p, &queued, &running, &starting);
  CHECK(queued == 0 && running == 0 && starting == 0);

  /* A hung task: where it runs; killed, its id comes back from reap. */
  push(p, 1001, "H", 1);
  uva_wproc_counts(p, &queued, &running, &starting);
  CHECK(running == 1);
  c = uva_wproc_where(p, 1001);
  CHECK(c == a || c == b);
  CHECK(uva_wproc_stop(p, c, SIGKILL) == 0);
  CHECK(wait_for(&loop, &st.exited[c]));
  CHECK(st.signal[c] == SIGKILL);
  CHECK(uva_wproc_reap(p, c) == 1001);
  CHECK(uva_wproc_reap(p, c) == 0);

  /* Exits mid-task; writes garbage: the pool kills it. */
  memset(st.exited, 0, sizeof(st.exited));
  CHECK(spawn(p, "echo") == c); /* The slot is free again. */
  CHECK(wait_for(&loop, &st.ready[c]));
  push(p, 1002, "X", 1);
  push(p, 1003, "G", 1);
  {
    uint64_t end = uv_hrtime() + 10000000000ull;
    while (!(st.exited[a] && st.exited[b]) && uv_hrtime() < end)
      uv_run(&loop, UV_RUN_ONCE);
  }
  CHECK(st.exited[a] && st.exited[b]);
  {
    uint64_t ra = uva_wproc_reap(p, a), rb = uva_wproc_reap(p, b);
    int sx = ra == 1002 ? a : b, sg = ra == 1002 ? b : a;
    CHECK((ra == 1002 && rb == 1003) || (ra == 1003 && rb == 1002));
    CHECK(st.status[sx] == 5 && st.signal[sx] == 0);
    CHECK(st.signal[sg] == SIGKILL);
  }

  /* Cannot start: FAILED with why, then its exit; or exits unready. */
  memset(st.exited, 0, sizeof(st.exited));
  memset(st.ready, 0, sizeof(st.ready));
  a = spawn(p, "fail");
  b = spawn(p, "exit");
  {
    uint64_t end = uv_hrtime() + 10000000000ull;
    while (!(st.exited[a] && st.exited[b]) && uv_hrtime() < end)
      uv_run(&loop, UV_RUN_ONCE);
  }
  CHECK(st.failed[a] == 1 && st.ready[a] == 0 && st.status[a] == 2);
  CHECK(st.failed[b] == 0 && st.ready[b] == 0 && st.status[b] == 4);
  CHECK(uva_wproc_reap(p, a) == 0 && uva_wproc_reap(p, b) == 0);

  /* A graceful stop: its fd 3 ends, it exits 0 by itself. */
  memset(st.exited, 0, sizeof(st.exited));
  a = spawn(p, "echo");
  CHECK(wait_for(&loop, &st.ready[a]));
  CHECK(uva_wproc_stop(p, a, 0) == 0);
  CHECK(wait_for(&loop, &st.exited[a]));
  CHECK(st.status[a] == 0 && st.signal[a] == 0);
  CHECK(uva_wproc_reap(p, a) == 0);

  /* Closed with a child at work and a task queued: all goes. */
  a = spawn(p, "echo");
  push(p, 2001, "H", 1);
  push(p, 2002, "H", 1);
  uva_wproc_close(p, on_pool_closed);
  CHECK(wait_for(&loop, &st.closed));
  CHECK(uv_run(&loop, UV_RUN_DEFAULT) == 0);
  CHECK(uv_loop_close(&loop) == 0);
  for (i = 1; i <= NTASKS; i++)
    free(st.sent[i]);
  printf("wproc: %d checks, %d failed\n", checks, failures);
  return failures == 0 ? 0 : 1;
}
