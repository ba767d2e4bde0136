/* fetch_test.c: the fetcher (src/core/fetch*.c) on its own libuv loop,
 * without Node, against a small HTTP/1.1 server on the same loop
 * (keep-alive, a refused connection, a request cancelled mid-transfer, a
 * clean close, a token between two checks, a teardown with work in flight),
 * and the cache of freed chunk mappings (fetch_chunk.c).
 *
 * Built and run by test/core.test.js against the system's libuv.  Each case
 * ends by checking that the loop closes cleanly (uv_loop_close() == 0).
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "uva.h"
#include "fetch_internal.h"

#include "check.h"
#include "respond.h"

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


static void on_alloc(uv_handle_t *h, size_t size, uv_buf_t *buf) {
  client_t *c = h->data;
  (void) size;
  buf->base = c->buf + c->len;
  buf->len = sizeof(c->buf) - c->len - 1;
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

/* ---- chunk mappings: kept once freed, within KEEP_BYTES, not after a trim.
 * A kept mapping comes back with what was written to it; a fresh one is
 * the kernel's zeroed memory. */

#define CHUNK (4u << 20)

/* Pages of [p, p + len) in memory. */
static int pages_in(uint8_t *p, size_t len) {
  unsigned char vec[CHUNK / 4096];
  size_t i;
  int n = 0;
  if (mincore(p, len, vec) != 0)
    return -1;
  for (i = 0; i < len / 4096; i++)
    n += vec[i] & 1;
  return n;
}

#define NCHUNK 13 /* 52 MiB touched: more than the 48 MiB kept. */

static void test_chunk_cache(void) {
  uint8_t *m[NCHUNK];
  size_t size;
  size_t ready;
  int i;
  int reused = 0;

  uva__chunk_trim();
  for (i = 0; i < NCHUNK; i++) {
    size = CHUNK;
    m[i] = uva__chunk_map(&size, &ready);
    CHECK(m[i] != NULL && size == CHUNK && ready == 0);
    CHECK(((uintptr_t) m[i] & ((2u << 20) - 1)) == 0); /* Huge-page aligned. */
    memset(m[i], 'k', size);                          /* Every page resident. */
  }
  for (i = 0; i < NCHUNK; i++)
    uva__chunk_put(m[i], CHUNK);
  for (i = 0; i < NCHUNK; i++) {
    size = CHUNK;
    m[i] = uva__chunk_map(&size, &ready);
    CHECK(m[i] != NULL);
    if (m[i][0] == 'k' && m[i][CHUNK - 1] == 'k') {
      reused++;
      CHECK(ready == CHUNK); /* All present: none to make present again. */
    } else {
      CHECK(ready == 0);
    }
  }
  CHECK(reused == 12); /* 48 MiB of resident pages kept, the 13th let go. */
  for (i = 0; i < NCHUNK; i++)
    uva__chunk_put(m[i], CHUNK);

  /* A mapping used in part comes back with how far it is present. */
  uva__chunk_trim();
  size = CHUNK;
  m[0] = uva__chunk_map(&size, &ready);
  CHECK(m[0] != NULL && ready == 0);
  memset(m[0], 'p', 10000);
  uva__chunk_put(m[0], CHUNK);
  size = CHUNK;
  m[0] = uva__chunk_map(&size, &ready);
  CHECK(m[0] != NULL && m[0][0] == 'p');
  CHECK(ready >= 10000 && ready % 4096 == 0 && ready <= CHUNK);
  CHECK(pages_in(m[0], ready) == (int) (ready / 4096));

  /* After a trim (an engine gone idle) a freed mapping is let go, until a
   * transfer maps again. */
  uva__chunk_trim();
  for (i = 0; i < NCHUNK; i++)
    uva__chunk_put(m[i], CHUNK);
  size = CHUNK;
  m[0] = uva__chunk_map(&size, &ready);
  CHECK(m[0] != NULL && m[0][0] == 0 && m[0][CHUNK - 1] == 0);
  m[0][0] = 'k';
  uva__chunk_put(m[0], CHUNK); /* Mapping again turned keeping back on. */
  size = CHUNK;
  m[0] = uva__chunk_map(&size, &ready);
  CHECK(m[0] != NULL && m[0][0] == 'k');
  uva__chunk_put(m[0], CHUNK);
  uva__chunk_trim();
}

/* uva__chunk_ready: the pages up to what is needed (and some ahead) in
 * memory before the copy reaches them; what is there stays; never past the
 * mapping. */

static void test_chunk_ready(void) {
  size_t size = CHUNK;
  size_t ready = 0;
  uint8_t *m;

  uva__chunk_trim(); /* A fresh mapping, not a kept one. */
  m = uva__chunk_map(&size, &ready);
  CHECK(m != NULL && size == CHUNK);
  CHECK(pages_in(m, CHUNK) == 0);
  uva__chunk_ready(m, CHUNK, &ready, 10000);
  CHECK(ready >= 10000 && ready % 4096 == 0 && ready < CHUNK);
  CHECK(pages_in(m, ready) == (int) (ready / 4096)); /* All of them, */
  CHECK(pages_in(m + ready, CHUNK - ready) == 0);     /* and no more. */
  memset(m, 'r', 10000);
  uva__chunk_ready(m, CHUNK, &ready, CHUNK - 1);
  CHECK(ready == CHUNK);
  CHECK(pages_in(m, CHUNK) == (int) (CHUNK / 4096));
  CHECK(m[0] == 'r' && m[9999] == 'r' && m[10000] == 0 && m[CHUNK - 1] == 0);
  uva__chunk_put(m, CHUNK);
  uva__chunk_trim();
}

/* A mapping that chunks are cut from goes back at its last reference: the
 * request's and each chunk's, in any order; not before. */
static void test_chunk_shared(void) {
  size_t size = CHUNK;
  size_t ready;
  uva__cmap_t *m;
  uint8_t *base;
  uint8_t *p;

  uva__chunk_trim();
  m = uva__cmap_new(&size, &ready);
  CHECK(m != NULL && m->size == CHUNK && m->refs == 1 && ready == 0);
  base = m->base;
  memset(base, 's', CHUNK);
  uva__cmap_ref(m); /* Two chunks handed out. */
  uva__cmap_ref(m);
  uva_body_free(NULL, (size_t) (uintptr_t) m); /* The request lets go, */
  uva_body_free(base + 8192, (size_t) (uintptr_t) m); /* and one chunk. */
  size = CHUNK;
  p = uva__chunk_map(&size, &ready); /* Not back yet: another mapping. */
  CHECK(p != NULL && p != base && ready == 0);
  uva__chunk_put(p, CHUNK);
  uva_body_free(base, (size_t) (uintptr_t) m); /* The last: back, kept. */
  size = CHUNK;
  p = uva__chunk_map(&size, &ready);
  CHECK(p == base && ready == CHUNK && p[0] == 's' && p[CHUNK - 1] == 's');
  uva__chunk_put(p, CHUNK);
  uva__chunk_trim();
}

int main(void) {
  test_chunk_cache();
  test_chunk_ready();
  test_chunk_shared();
  test_fetch();
  test_fetch_teardown();
  test_fetch_token_between_checks();
  printf("fetch: %d checks, %d failed\n", checks, failures);
  return failures == 0 ? 0 : 1;
}
