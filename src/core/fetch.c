/* fetch.c: libcurl's multi-socket interface on a libuv loop: the engine.
 *
 * libcurl tells us which sockets to watch (socket_cb) and when to call it
 * back (timer_cb), in fetch_sock.c; we watch with one uv_poll_t per socket
 * and one uv_timer_t, and call curl_multi_socket_action() from libuv's
 * callbacks, never from libcurl's.  After every action the finished transfers are
 * drained with curl_multi_info_read(), their results copied out before the
 * easy handle is removed, and the request either waits for a retry or is
 * put on the done list, which a uv_check_t hands over once per loop turn.
 * A transfer can also finish in the timers phase (libcurl may send and read
 * a whole response in one action); a check handle alone would then wait for
 * the poll phase to return, so an idle handle is active meanwhile, which
 * makes that poll not block.
 */
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fetch_internal.h"

static uv_once_t global_once = UV_ONCE_INIT;
static int global_err;
static int global_features;
/* Whether a finished easy handle may serve another transfer.  Before 8.1.0
 * a reused handle keeps a pointer to the previous transfer's freed header
 * store, and a response whose first header line is folded then corrupts the
 * heap (curl/curl#11101, fixed by #11103): any server could crash the
 * process.  curl_easy_reset() does not clear that pointer (tried: the same
 * double free), so there every transfer gets a fresh handle. */
static int global_reuse_easy;

int uva__fetch_reuse_easy(void) {
  return global_reuse_easy;
}

static void global_init(void) {
  const curl_version_info_data *v;

  if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
    global_err = UV_ENOMEM;
    return;
  }
  v = curl_version_info(CURLVERSION_NOW);
  global_reuse_easy = v->version_num >= 0x080100;
  if (v->features & CURL_VERSION_HTTP2) {
    global_features |= UVA_FETCH_HTTP2;
    /* Before 8.0.0 a reused prior-knowledge (h2c) connection broke its
     * HTTP/2 framing (curl/curl#10634, fixed by #10643). */
    if (v->version_num >= 0x080000)
      global_features |= UVA_FETCH_H2C_REUSE;
    /* In 7.88 an upload paused by its read callback leaves what it read
     * last unsent over HTTP/2 until it is resumed, so a producer waiting
     * for its peer to see that data waits for good (test/fetch-upload).
     * libcurl's HTTP/2 pausing was rewritten for 8.1 (curl/curl#10751,
     * #10998); 8.14 is tested here. */
    if (v->version_num >= 0x080100)
      global_features |= UVA_FETCH_H2_UPLOAD;
  }
  if (v->features & CURL_VERSION_BROTLI)
    global_features |= UVA_FETCH_BROTLI;
#ifdef CURL_VERSION_ZSTD
  if (v->features & CURL_VERSION_ZSTD)
    global_features |= UVA_FETCH_ZSTD;
#endif
}

int uva_fetch_features(void) {
  uv_once(&global_once, global_init);
  return global_features;
}

const char *uva_fetch_curl_version(void) {
  return curl_version_info(CURLVERSION_NOW)->version;
}

void *uva_fetch_data(const uva_fetch_t *f) {
  return f->data;
}

/* ---- Handles closing ------------------------------------------------- */

void uva__fetch_maybe_closed(uva_fetch_t *f) {
  if (!f->closing || f->open_handles > 0)
    return;
  free(f->socks);
  free(f->fd_flags);
  free(f->done);
  free(f->spare);
  free(f->spare_profile);
  if (f->close_cb != NULL)
    f->close_cb(f->data);
  free(f);
}

static void on_handle_closed(uv_handle_t *h) {
  uva_fetch_t *f = h->data;
  f->open_handles--;
  uva__fetch_maybe_closed(f);
}

/* ---- Draining finished transfers -------------------------------------- */

static void on_idle(uv_timer_t *t) {
  uva_fetch_t *f = t->data;
  f->idle_armed = 0;
  uva_fetch_close_idle(f);
}

static void update_refs(uva_fetch_t *f) {
  /* libcurl may keep a timer for idle connections; it must not keep the
   * process alive while nothing is in flight.  A quiet spell closes the
   * kept-alive connections (an unreferenced timer: it never holds the
   * loop open). */
  if (f->running > 0) {
    uv_ref((uv_handle_t *) &f->curl_timer);
    if (f->idle_armed) {
      uv_timer_stop(&f->idle_timer);
      f->idle_armed = 0;
    }
  } else {
    uv_unref((uv_handle_t *) &f->curl_timer);
    if (!f->idle_armed && !f->closing) {
      uv_timer_start(&f->idle_timer, on_idle, UVA_FETCH_IDLE_MS, 0);
      f->idle_armed = 1;
    }
  }
}

static CURLM *multi_new(uva_fetch_t *f);

int uva_fetch_close_idle(uva_fetch_t *f) {
  CURLM *m;
  if (f->closing || f->running > 0)
    return 0;
  m = multi_new(f);
  if (m == NULL)
    return 0;
  /* Cleaning up the old handle closes its connections (and, through
   * close_socket_cb, their watchers). */
  curl_multi_cleanup(f->multi);
  f->multi = m;
  uv_timer_stop(&f->curl_timer);
  uva__chunk_trim();  /* The chunks kept for the next large body, too. */
  return 1;
}

static void pump_all(uva_fetch_t *f) {
  uva_fpool_t *p;
  uva_fpool_t *next;
  /* Pumping may take p off the busy list (or free it): step first. */
  for (p = f->busy; p != NULL; p = next) {
    next = p->busy_next;
    if (p->queue.len > 0)
      uva__fpool_pump(p);
  }
}

void uva__fetch_drain(uva_fetch_t *f) {
  CURLMsg *msg;
  int left;
  uva_freq_t *r;

  while ((msg = curl_multi_info_read(f->multi, &left)) != NULL) {
    if (msg->msg != CURLMSG_DONE)
      continue;
    r = NULL;
    curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, (char **) &r);
    /* Copy the result out before the handle goes. */
    uva__freq_collect(r, msg->data.result);
    uva__fetch_finish(f, r);
  }
  pump_all(f);
  update_refs(f);
}

/* ---- Waits for tokens and retries ------------------------------------- */

static void on_wake(uv_timer_t *t) {
  uva_fetch_t *f = t->data;
  uint64_t now = uv_hrtime();
  uva_fpool_t *p;
  uint64_t next = 0;

  f->wake_ns = 0;
  f->in_wake = 1;
  for (p = f->busy; p != NULL; p = p->busy_next)
    uva__fpool_wake(p, now, &next);
  pump_all(f);
  uva__fetch_arm_wake(f);
  f->in_wake = 0;
  update_refs(f);
}

void uva__fetch_arm_wake(uva_fetch_t *f) {
  uva_fpool_t *p;
  uint64_t next = 0;
  uint64_t now;
  uint64_t ms;

  if (f->closing)
    return;
  /* Asking each busy pool for its next moment without serving anything. */
  for (p = f->busy; p != NULL; p = p->busy_next)
    uva__fpool_wake(p, 0, &next);
  if (next == 0) {
    uv_timer_stop(&f->wake_timer);
    f->wake_ns = 0;
    return;
  }
  if (f->wake_ns == next)
    return;
  now = uv_hrtime();
  /* Round up to whole ms, and refresh the cached loop time first, so the
   * timer never fires before `next`. */
  ms = next > now ? (next - now + 999999) / 1000000 : 0;
  /* From the wake-up itself, never 0 ms: libuv would run it again in the
   * same timers phase, before any socket is polled. */
  if (ms == 0 && f->in_wake)
    ms = 1;
  uv_update_time(f->loop);
  uv_timer_start(&f->wake_timer, on_wake, ms, 0);
  f->wake_ns = next;
}


void uva__fetch_start(uva_fetch_t *f, uva_freq_t *r) {
  CURL *easy = NULL;
  uint64_t profile = 0;
  int err;
  size_t i;

  /* Newest first, a handle set up for the same profile if there is one. */
  for (i = f->nspare; i-- > 0;) {
    if (f->spare_profile[i] == r->profile) {
      easy = f->spare[i];
      profile = r->profile;
      f->spare[i] = f->spare[f->nspare - 1];
      f->spare_profile[i] = f->spare_profile[f->nspare - 1];
      f->nspare--;
      break;
    }
  }
  if (easy == NULL && f->nspare > 0) {
    easy = f->spare[--f->nspare];
    curl_easy_reset(easy);
  }
  if (easy == NULL)
    easy = curl_easy_init();
  if (easy == NULL) {
    r->res.curl_code = CURLE_OUT_OF_MEMORY;
    uva__freq_collect(r, CURLE_OUT_OF_MEMORY);
    uva__fetch_finish(f, r);
    return;
  }
  if (profile != 0) {
    err = uva__freq_setup_same(r, easy);
  } else {
    err = uva__freq_setup(r, easy, uva_fetch_features());
    curl_easy_setopt(easy, CURLOPT_OPENSOCKETFUNCTION, uva__fetch_open_socket_cb);
    curl_easy_setopt(easy, CURLOPT_OPENSOCKETDATA, f);
    curl_easy_setopt(easy, CURLOPT_CLOSESOCKETFUNCTION, uva__fetch_close_socket_cb);
    curl_easy_setopt(easy, CURLOPT_CLOSESOCKETDATA, f);
  }
  curl_easy_setopt(easy, CURLOPT_PRIVATE, r);
  r->easy = easy;
  r->state = UVA__FREQ_RUNNING;
  if (r->start_ns == 0)
    r->start_ns = uv_hrtime();
  if (err == CURLE_OK && curl_multi_add_handle(f->multi, easy) == CURLM_OK) {
    f->running++;
    uv_ref((uv_handle_t *) &f->curl_timer);
    return;
  }
  /* Not added: finish it as a failed attempt without a multi handle.  A
   * refused option (a string past libcurl's 8,000,000-byte limit) is the
   * caller's argument, not the network's. */
  r->easy = NULL;
  curl_easy_cleanup(easy);
  uva__freq_collect(r, err != CURLE_OK ? (CURLcode) err : CURLE_FAILED_INIT);
  if (err != CURLE_OK && err != CURLE_OUT_OF_MEMORY)
    r->res.error = "ERR_INVALID_ARG_VALUE";
  uva__fetch_finish(f, r);
}

/* ---- Engine ------------------------------------------------------------ */

uva_fetch_t *uva_fetch_new(uv_loop_t *loop, uva_fetch_done_cb cb, void *data,
                           int *err) {
  uva_fetch_t *f;

  uv_once(&global_once, global_init);
  if (global_err != 0) {
    *err = global_err;
    return NULL;
  }
  f = calloc(1, sizeof(*f));
  if (f == NULL) {
    *err = UV_ENOMEM;
    return NULL;
  }
  f->spare = malloc(64 * sizeof(*f->spare));
  f->spare_profile = malloc(64 * sizeof(*f->spare_profile));
  f->multi = multi_new(f);
  if (f->multi == NULL || f->spare == NULL || f->spare_profile == NULL) {
    if (f->multi != NULL)
      curl_multi_cleanup(f->multi);
    free(f->spare);
    free(f->spare_profile);
    free(f);
    *err = UV_ENOMEM;
    return NULL;
  }
  f->data = data;
  f->loop = loop;
  f->cb = cb;
  uv_timer_init(loop, &f->curl_timer);
  uv_timer_init(loop, &f->wake_timer);
  uv_check_init(loop, &f->flush);
  uv_idle_init(loop, &f->nonblock);
  uv_idle_init(loop, &f->resume);
  f->resume.data = f;
  uv_check_init(loop, &f->turns);
  uv_unref((uv_handle_t *) &f->turns);  /* resume holds the loop while it runs. */
  f->turns.data = f;
  uv_timer_init(loop, &f->idle_timer);
  uv_unref((uv_handle_t *) &f->idle_timer);
  f->idle_timer.data = f;
  f->curl_timer.data = f;
  f->wake_timer.data = f;
  f->flush.data = f;
  f->nonblock.data = f;
  f->open_handles = 7;
  uv_unref((uv_handle_t *) &f->curl_timer);
  *err = 0;
  return f;
}

static CURLM *multi_new(uva_fetch_t *f) {
  CURLM *m = curl_multi_init();
  if (m == NULL)
    return NULL;
  curl_multi_setopt(m, CURLMOPT_SOCKETFUNCTION, uva__fetch_socket_cb);
  curl_multi_setopt(m, CURLMOPT_SOCKETDATA, f);
  curl_multi_setopt(m, CURLMOPT_TIMERFUNCTION, uva__fetch_timer_cb);
  curl_multi_setopt(m, CURLMOPT_TIMERDATA, f);
  curl_multi_setopt(m, CURLMOPT_PIPELINING, (long) CURLPIPE_MULTIPLEX);
  /* libcurl sizes its connection cache by the handles added at the moment
   * a connection is returned; ours come and go between transfers, so it
   * would close connections it is about to need.  Idle ones are closed
   * after a quiet spell instead (on_idle). */
  curl_multi_setopt(m, CURLMOPT_MAXCONNECTS, (long) UVA_FETCH_MAX_IDLE_CONNS);
  return m;
}

static void free_list(uva__flist_t *l) {
  uva_freq_t *r;
  while ((r = l->head) != NULL) {
    uva__flist_remove(l, r);
    uva_freq_free(r);
  }
}

void uva_fetch_close(uva_fetch_t *f, uva_fetch_close_cb close_cb) {
  uva_fpool_t *p;
  size_t i;

  f->closing = 1;
  f->close_cb = close_cb;
  f->paused = NULL;  /* Its transfers are freed below. */
  f->news = NULL;
  uv_idle_stop(&f->resume);
  uv_check_stop(&f->turns);
  /* Running transfers leave the multi handle first. */
  for (p = f->pools; p != NULL; p = p->next) {
    uva_freq_t *r;
    while ((r = p->running.head) != NULL) {
      uva__flist_remove(&p->running, r);
      curl_multi_remove_handle(f->multi, r->easy);
      curl_easy_cleanup(r->easy);
      r->easy = NULL;
      uva_freq_free(r);
    }
    free_list(&p->queue);
    free_list(&p->waiting);
  }
  for (i = 0; i < f->ndone; i++)
    uva_freq_free(f->done[i]);
  f->ndone = 0;
  while ((p = f->pools) != NULL)
    uva__fpool_free(p);  /* Takes it off the lists. */
  /* Closing the connections calls close_socket_cb, which closes the
   * watchers; any left (sockets libcurl closed itself) close below. */
  curl_multi_cleanup(f->multi);
  f->multi = NULL;
  for (i = 0; i < f->nspare; i++)
    curl_easy_cleanup(f->spare[i]);
  f->nspare = 0;
  for (i = 0; i < f->nsocks; i++)
    if (f->socks[i] != NULL)
      uva__fetch_sock_close(f, (curl_socket_t) i);
  uv_close((uv_handle_t *) &f->curl_timer, on_handle_closed);
  uv_close((uv_handle_t *) &f->wake_timer, on_handle_closed);
  uv_close((uv_handle_t *) &f->flush, on_handle_closed);
  uv_close((uv_handle_t *) &f->nonblock, on_handle_closed);
  uv_close((uv_handle_t *) &f->resume, on_handle_closed);
  uv_close((uv_handle_t *) &f->turns, on_handle_closed);
  uv_close((uv_handle_t *) &f->idle_timer, on_handle_closed);
}

/* ---- Requests ---------------------------------------------------------- */

static int submit(uva_fpool_t *p, uva_freq_t *r, int first) {
  if (p->closing || p->f->closing)
    return UVA_EBADSTATE;
  if (r->state != UVA__FREQ_NEW)
    return UVA_EBADSTATE;
  r->f = p->f;
  r->pool = p;
  r->state = UVA__FREQ_QUEUED;
  if (first)
    uva__flist_unshift(&p->queue, r);
  else
    uva__flist_push(&p->queue, r);
  uva__fpool_pump(p);
  update_refs(r->f);
  return 0;
}

int uva_fetch_submit(uva_fpool_t *p, uva_freq_t *r) {
  return submit(p, r, 0);
}

int uva_fetch_submit_first(uva_fpool_t *p, uva_freq_t *r) {
  return submit(p, r, 1);
}

void uva_fetch_cancel(uva_freq_t *r) {
  uva_fetch_t *f = r->f;
  uva_fpool_t *p = r->pool;

  switch (r->state) {
    case UVA__FREQ_QUEUED:
      uva__flist_remove(&p->queue, r);
      uva__fpool_track(p);
      break;
    case UVA__FREQ_WAITING:
      uva__flist_remove(&p->waiting, r);
      uva__fpool_track(p);
      uva__fetch_arm_wake(f);
      break;
    case UVA__FREQ_RUNNING:
      r->cancelled = 1;  /* Before unrun: a cancel says nothing of the host. */
      uva__fetch_unhold(f, r);
      uva__fetch_news_unlink(f, r);
      uva__fpool_unrun(p, r);
      curl_multi_remove_handle(f->multi, r->easy);
      curl_easy_cleanup(r->easy);
      r->easy = NULL;
      f->running--;
      break;
    case UVA__FREQ_DONE:
      r->cancelled = 1;  /* Dropped at delivery. */
      return;
    default:
      uva_freq_free(r);
      return;
  }
  r->pool = NULL;
  uva_freq_free(r);
  if (!uva__fpool_free_if_done(p))
    uva__fpool_pump(p);
  update_refs(f);
}
