/* redis_test.c: the Redis connection (src/core/redis.c) on its own libuv
 * loop, without Node and without a Redis: a small RESP server on the same
 * loop answers SCRIPT LOAD with a SHA and the scripts with two integers,
 * or lies as a test asks (NOSCRIPT, silence, what is not RESP).
 *
 * Built and run by test/core.test.js, with -DUVA_TEST_REDIS where hiredis
 * is found (redis.c is built then); without it this program checks nothing.
 * Each case ends by checking that the loop closes cleanly. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "uva.h"

#include "check.h"
#include "respond.h"

uint64_t __real_uv_hrtime(void);
uint64_t __wrap_uv_hrtime(void) {
  return __real_uv_hrtime();
}

#ifndef UVA_TEST_REDIS
int main(void) {
  printf("redis: %d checks, %d failed (built without hiredis)\n", checks, failures);
  return 0;
}
#else

#include "redis.h"

/* ---- a RESP server on the loop ---- */

typedef struct {
  uv_loop_t *loop;
  uv_tcp_t tcp;
  int port;
  int accepted;
  int open;
  int loads;    /* SCRIPT LOAD commands seen. */
  int evalshas; /* EVALSHA commands seen. */
  int evals;    /* EVAL commands seen. */
  int noscript; /* Answer this many EVALSHA with NOSCRIPT. */
  int silent;   /* Never answer a script. */
  int garbage;  /* Answer anything with what is not RESP. */
} server_t;

typedef struct {
  uv_tcp_t tcp;
  server_t *s;
  char buf[65536];
  size_t len;
} sconn_t;

static void on_sconn_closed(uv_handle_t *h) {
  sconn_t *c = h->data;
  c->s->open--;
  free(c);
}

static void reply(sconn_t *c, const char *text) {
  respond((uv_stream_t *) &c->tcp, text);
}

static void on_salloc(uv_handle_t *h, size_t size, uv_buf_t *buf) {
  sconn_t *c = h->data;
  (void) size;
  buf->base = c->buf + c->len;
  buf->len = sizeof(c->buf) - c->len;
}

/* One command of `n` bytes at `b` (an array of bulk strings): its bytes,
 * 0 while incomplete; the first two arguments' starts copied to a0, a1. */
static size_t parse(const char *b, size_t n, char *a0, char *a1) {
  const char *p = b, *end = b + n;
  long argc, i;
  char *eol;
  if (n < 4 || *p != '*' || (eol = memchr(p, '\n', n)) == NULL)
    return 0;
  argc = strtol(p + 1, NULL, 10);
  p = eol + 1;
  for (i = 0; i < argc; i++) {
    long len;
    if (p >= end || *p != '$' || (eol = memchr(p, '\n', (size_t) (end - p))) == NULL)
      return 0;
    len = strtol(p + 1, NULL, 10);
    p = eol + 1;
    if (end - p < len + 2)
      return 0;
    if (i < 2) {
      char *to = i == 0 ? a0 : a1;
      size_t k = len < 63 ? (size_t) len : 63;
      memcpy(to, p, k);
      to[k] = '\0';
    }
    p += len + 2;
  }
  return (size_t) (p - b);
}

static void on_sread(uv_stream_t *st, ssize_t nread, const uv_buf_t *buf) {
  sconn_t *c = st->data;
  server_t *s = c->s;
  size_t used;
  char a0[64], a1[64];
  (void) buf;
  if (nread < 0) {
    uv_close((uv_handle_t *) st, on_sconn_closed);
    return;
  }
  c->len += (size_t) nread;
  if (s->garbage && c->len > 0) {
    reply(c, "HTTP/1.1 400 Bad Request\r\n\r\n");
    c->len = 0;
    return;
  }
  a0[0] = a1[0] = '\0';
  while ((used = parse(c->buf, c->len, a0, a1)) > 0) {
    if (strcmp(a0, "SCRIPT") == 0) {
      char sha[64];
      snprintf(sha, sizeof(sha), "$40\r\n%040d\r\n", ++s->loads);
      reply(c, sha);
    } else if (strcmp(a0, "EVALSHA") == 0) {
      s->evalshas++;
      if (s->noscript > 0) {
        s->noscript--;
        reply(c, "-NOSCRIPT No matching script. Please use EVAL.\r\n");
      } else if (!s->silent) {
        reply(c, "*2\r\n:1\r\n:42\r\n");
      }
    } else if (strcmp(a0, "EVAL") == 0) {
      s->evals++;
      if (!s->silent)
        reply(c, "*2\r\n:1\r\n:42\r\n");
    } else {
      reply(c, "+OK\r\n");
    }
    memmove(c->buf, c->buf + used, c->len - used);
    c->len -= used;
    a0[0] = a1[0] = '\0';
  }
}

static void on_sconnection(uv_stream_t *server, int status) {
  server_t *s = server->data;
  sconn_t *c = calloc(1, sizeof(*c));
  CHECK(status == 0);
  c->s = s;
  uv_tcp_init(s->loop, &c->tcp);
  c->tcp.data = c;
  CHECK(uv_accept(server, (uv_stream_t *) &c->tcp) == 0);
  s->accepted++;
  s->open++;
  uv_read_start((uv_stream_t *) &c->tcp, on_salloc, on_sread);
}

static void server_start(server_t *s, uv_loop_t *loop) {
  struct sockaddr_in a;
  struct sockaddr_storage got;
  int len = sizeof(got);
  memset(s, 0, sizeof(*s));
  s->loop = loop;
  uv_tcp_init(loop, &s->tcp);
  s->tcp.data = s;
  uv_ip4_addr("127.0.0.1", 0, &a);
  CHECK(uv_tcp_bind(&s->tcp, (const struct sockaddr *) &a, 0) == 0);
  CHECK(uv_listen((uv_stream_t *) &s->tcp, 16, on_sconnection) == 0);
  uv_tcp_getsockname(&s->tcp, (struct sockaddr *) &got, &len);
  s->port = ntohs(((struct sockaddr_in *) &got)->sin_port);
}

/* Closes the server, its connections and the case's timer; the store's
 * handles (polls, timers) are the store's to close. */
static void close_ours(uv_handle_t *h, void *arg) {
  server_t *s = arg;
  if (uv_is_closing(h))
    return;
  if (h == (uv_handle_t *) &s->tcp)
    uv_close(h, NULL);
  else if (h->type == UV_TCP)
    uv_close(h, on_sconn_closed);
}

/* ---- cases ---- */

typedef struct {
  uv_loop_t loop;
  server_t srv;
  uva_redis_t *r;
  uv_timer_t timer;
  int step;
  int status[4];
  int64_t ints[4][4];
  size_t n[4];
  int done;
  int closed;
} case_t;

static void on_closed(void *data) {
  case_t *t = data;
  t->closed = 1;
}

static void case_start(case_t *t, int port, uint64_t command_ms) {
  uva_redis_opts_t o;
  memset(t, 0, sizeof(*t));
  CHECK(uv_loop_init(&t->loop) == 0);
  server_start(&t->srv, &t->loop);
  memset(&o, 0, sizeof(o));
  o.host = "127.0.0.1";
  o.port = port > 0 ? port : t->srv.port;
  o.connect_timeout_ms = 500;
  o.command_timeout_ms = command_ms;
  o.reconnect = 1;
  CHECK(uva_redis_new(&t->loop, &o, t, &t->r) == 0);
  uv_timer_init(&t->loop, &t->timer);
  t->timer.data = t;
}

/* After the store's close: the rest closed, and the loop closes clean. */
static void case_finish(case_t *t) {
  uv_close((uv_handle_t *) &t->timer, NULL);
  uv_walk(&t->loop, close_ours, &t->srv);
  uv_run(&t->loop, UV_RUN_DEFAULT);
  CHECK(t->closed == 1);
  CHECK(t->srv.open == 0);
  CHECK(uv_loop_close(&t->loop) == 0);
}

static void case_end(case_t *t) {
  uva_redis_close(t->r, on_closed);
  case_finish(t);
}

static void on_eval(uva_redis_t *r, void *arg, int status, const int64_t *ints, size_t n,
                    const char *error) {
  case_t *t = uva_redis_data(r);
  int i = (int) (intptr_t) arg;
  (void) error;
  t->status[i] = status;
  t->n[i] = n;
  if (ints != NULL && n > 0)
    memcpy(t->ints[i], ints, sizeof(int64_t) * (n < 4 ? n : 4));
  t->done++;
}

static int eval(case_t *t, int i) {
  const char *args[2] = {"1000", "5"};
  size_t lens[2] = {4, 1};
  return uva_redis_eval(t->r, UVA_REDIS_GCRA, "k", 1, args, lens, 2, on_eval, (void *) (intptr_t) i);
}

/* Runs the loop until `want` replies came (or 5 s passed). */
static void until(case_t *t, int want) {
  uint64_t end = uv_hrtime() + 5000000000ull;
  while (t->done < want && uv_hrtime() < end)
    uv_run(&t->loop, UV_RUN_ONCE);
}

/* Scripts loaded on connect, a reply's integers, and a NOSCRIPT (the
 * scripts flushed, or a restart) answered with the script itself. */
static void test_scripts_and_noscript(void) {
  case_t *t = malloc(sizeof(*t));
  uint64_t sent, replies, connects;
  case_start(t, 0, 2000);
  CHECK(eval(t, 0) == 0); /* Waits for the connect. */
  until(t, 1);
  CHECK(t->status[0] == 0 && t->n[0] == 2 && t->ints[0][0] == 1 && t->ints[0][1] == 42);
  CHECK(t->srv.loads == UVA_REDIS_NSCRIPTS);
  CHECK(uva_redis_connected(t->r) == 1);
  /* Now by SHA; the server has lost the script once: one EVALSHA, its
   * NOSCRIPT, then one EVAL, and the call succeeds. */
  {
    int shas = t->srv.evalshas, evals = t->srv.evals;
    t->srv.noscript = 1;
    CHECK(eval(t, 1) == 0);
    until(t, 2);
    CHECK(t->status[1] == 0 && t->ints[1][1] == 42);
    CHECK(t->srv.evalshas == shas + 1);
    CHECK(t->srv.evals == evals + 1);
  }
  uva_redis_counts(t->r, &sent, &replies, &connects);
  CHECK(connects == 1);
  CHECK(sent >= 2 + UVA_REDIS_NSCRIPTS && replies >= 2);
  CHECK(uva_redis_eval(t->r, UVA_REDIS_NSCRIPTS, "k", 1, NULL, NULL, 0, on_eval, NULL) == UV_EINVAL);
  case_end(t);
  free(t);
}

/* A server that never answers: the call fails with TIMEOUT at its
 * deadline, and the stalled connection is made again. */
static void test_timeout_reconnects(void) {
  case_t *t = malloc(sizeof(*t));
  uint64_t t0, ms;
  uint64_t end;
  case_start(t, 0, 150);
  t->srv.silent = 1;
  t0 = uv_hrtime();
  CHECK(eval(t, 0) == 0);
  until(t, 1);
  ms = (uv_hrtime() - t0) / 1000000;
  CHECK(t->status[0] == UVA_EREDIS_TIMEOUT);
  CHECK(ms >= 100 && ms < 2000);
  end = uv_hrtime() + 3000000000ull;
  while (t->srv.accepted < 2 && uv_hrtime() < end)
    uv_run(&t->loop, UV_RUN_ONCE);
  CHECK(t->srv.accepted >= 2);
  case_end(t);
  free(t);
}

/* Nothing listens: a call waits for the connect and fails UNAVAILABLE;
 * between reconnects one fails at once or waits for the next connect. */
static void test_refused(void) {
  case_t *t = malloc(sizeof(*t));
  uv_tcp_t probe;
  struct sockaddr_in a;
  struct sockaddr_storage got;
  int len = sizeof(got), port;
  int rc;
  /* A port that was free a moment ago. */
  uv_loop_t l;
  uv_loop_init(&l);
  uv_tcp_init(&l, &probe);
  uv_ip4_addr("127.0.0.1", 0, &a);
  uv_tcp_bind(&probe, (const struct sockaddr *) &a, 0);
  uv_tcp_getsockname(&probe, (struct sockaddr *) &got, &len);
  port = ntohs(((struct sockaddr_in *) &got)->sin_port);
  uv_close((uv_handle_t *) &probe, NULL);
  uv_run(&l, UV_RUN_DEFAULT);
  CHECK(uv_loop_close(&l) == 0);

  case_start(t, port, 1000);
  rc = eval(t, 0);
  if (rc == 0)
    until(t, 1);
  else
    t->status[0] = rc;
  CHECK(t->status[0] == UVA_EREDIS_UNAVAILABLE);
  CHECK(uva_redis_connected(t->r) == 0);
  case_end(t);
  free(t);
}

/* A server that answers with what is not RESP: the call fails, nothing
 * is taken for a reply, and the store stays usable for close. */
static void test_lying_server(void) {
  case_t *t = malloc(sizeof(*t));
  case_start(t, 0, 1000);
  t->srv.garbage = 1;
  CHECK(eval(t, 0) == 0);
  until(t, 1);
  CHECK(t->status[0] == UVA_EREDIS_UNAVAILABLE || t->status[0] == UVA_EREDIS_REPLY);
  CHECK(t->n[0] == 0);
  case_end(t);
  free(t);
}

/* Closed with a call pending: its callback comes with CLOSED, once; a call
 * after close is refused. */
static void test_close_pending(void) {
  case_t *t = malloc(sizeof(*t));
  case_start(t, 0, 5000);
  t->srv.silent = 1;
  CHECK(eval(t, 0) == 0);
  while (t->srv.loads < UVA_REDIS_NSCRIPTS)
    uv_run(&t->loop, UV_RUN_ONCE);
  uva_redis_close(t->r, on_closed);
  CHECK(eval(t, 1) == UVA_EREDIS_CLOSED); /* Until close_cb, the store answers. */
  case_finish(t);
  CHECK(t->done == 1 && t->status[0] == UVA_EREDIS_CLOSED);
  free(t);
}

int main(void) {
  test_scripts_and_noscript();
  test_timeout_reconnects();
  test_refused();
  test_lying_server();
  test_close_pending();
  printf("redis: %d checks, %d failed\n", checks, failures);
  return failures == 0 ? 0 : 1;
}
#endif
