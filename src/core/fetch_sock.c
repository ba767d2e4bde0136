/* fetch_sock.c: libcurl's socket and timer callbacks on the libuv loop
 * (fetch.c has the engine).  libcurl says which sockets to watch
 * (socket_cb) and when to call it back (timer_cb); each socket gets a
 * uv_poll_t, stopped and closed before libcurl closes the descriptor
 * (close_socket_cb, for the sockets it opens itself too), and the
 * callbacks only arm libuv: curl_multi_socket_action() is called from
 * libuv's callbacks, never from libcurl's. */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fetch_internal.h"

static void on_sock_closed(uv_handle_t *h) {
  uva__fsock_t *s = h->data;
  uva_fetch_t *f = s->f;
  free(s);
  f->open_handles--;
  uva__fetch_maybe_closed(f);
}

void uva__fetch_sock_close(uva_fetch_t *f, curl_socket_t fd) {
  uva__fsock_t *s;
  if (fd < 0 || (size_t) fd >= f->nsocks || f->socks[fd] == NULL)
    return;
  s = f->socks[fd];
  f->socks[fd] = NULL;
  /* uv_close() stops the watcher now; the descriptor is closed after. */
  uv_close((uv_handle_t *) &s->poll, on_sock_closed);
}

static void on_poll(uv_poll_t *h, int status, int events) {
  uva__fsock_t *s = h->data;
  uva_fetch_t *f = s->f;
  int running = 0;
  int flags = 0;

  if (!s->wanted) {
    /* An idle kept-alive connection became readable (the server closed
     * it): libcurl will find out when it next looks; stop watching. */
    uv_poll_stop(&s->poll);
    s->events = 0;
    return;
  }
  if (status < 0)
    flags = CURL_CSELECT_ERR;
  else {
    if (events & UV_READABLE)
      flags |= CURL_CSELECT_IN;
    if (events & UV_WRITABLE)
      flags |= CURL_CSELECT_OUT;
  }
  curl_multi_socket_action(f->multi, s->fd, flags, &running);
  uva__fetch_drain(f);
}

static int fd_owned(const uva_fetch_t *f, curl_socket_t fd) {
  return (size_t) fd < f->nfd_flags && (f->fd_flags[fd] & UVA__FD_OWNED);
}

int uva__fetch_socket_cb(CURL *easy, curl_socket_t fd, int what, void *userp,
                     void *socketp) {
  uva_fetch_t *f = userp;
  uva__fsock_t *s;
  int events = 0;
  (void) easy;
  (void) socketp;

  if (fd < 0)
    return 0;
  s = (size_t) fd < f->nsocks ? f->socks[fd] : NULL;
  if (what == CURL_POLL_REMOVE) {
    /* A descriptor libcurl closes without close_socket_cb (its resolver's
     * socketpair) loses its watcher now: libcurl closes it right after
     * this, and a watcher left on it would take the events of whatever
     * socket gets the number next (or make libuv abort). */
    if (s != NULL && !fd_owned(f, fd)) {
      uva__fetch_sock_close(f, fd);
      return 0;
    }
    /* Between two requests on a kept-alive connection the watcher stays
     * started for reading, unreferenced: no epoll_ctl() per request, and
     * nothing keeps the loop alive.  It is stopped if the socket becomes
     * readable meanwhile (on_poll) or closed (close_socket_cb). */
    if (s != NULL && s->wanted) {
      s->wanted = 0;
      uv_unref((uv_handle_t *) &s->poll);
      if (s->events != UV_READABLE && s->events != 0) {
        uv_poll_stop(&s->poll);
        s->events = 0;
      }
    }
    return 0;
  }
  if (s == NULL) {
    if ((size_t) fd >= f->nsocks) {
      size_t n = f->nsocks ? f->nsocks : 64;
      uva__fsock_t **t;
      while (n <= (size_t) fd)
        n *= 2;
      t = realloc(f->socks, n * sizeof(*t));
      if (t == NULL)
        return -1;
      memset(t + f->nsocks, 0, (n - f->nsocks) * sizeof(*t));
      f->socks = t;
      f->nsocks = n;
    }
    s = calloc(1, sizeof(*s));
    if (s == NULL)
      return -1;
    if (uv_poll_init_socket(f->loop, &s->poll, fd) != 0) {
      free(s);
      return -1;
    }
    s->f = f;
    s->fd = fd;
    s->poll.data = s;
    f->socks[fd] = s;
    f->open_handles++;
  }
  if (what & CURL_POLL_IN)
    events |= UV_READABLE;
  if (what & CURL_POLL_OUT)
    events |= UV_WRITABLE;
  if (!s->wanted) {
    s->wanted = 1;
    uv_ref((uv_handle_t *) &s->poll);
  }
  if (events != s->events) {
    uv_poll_start(&s->poll, events, on_poll);
    s->events = events;
  }
  return 0;
}

curl_socket_t uva__fetch_open_socket_cb(void *clientp, curlsocktype purpose,
                                    struct curl_sockaddr *a) {
  uva_fetch_t *f = clientp;
  curl_socket_t fd;
  (void) purpose;

#ifdef SOCK_CLOEXEC
  /* Not inherited by child processes (libcurl's own open leaves it). */
  fd = socket(a->family, a->socktype | SOCK_CLOEXEC, a->protocol);
#else
  fd = socket(a->family, a->socktype, a->protocol);
#endif
  if (fd < 0)
    return CURL_SOCKET_BAD;
  if ((size_t) fd >= f->nfd_flags) {
    size_t n = f->nfd_flags ? f->nfd_flags : 64;
    unsigned char *t;
    while (n <= (size_t) fd)
      n *= 2;
    t = realloc(f->fd_flags, n);
    if (t == NULL) {
      close(fd);
      return CURL_SOCKET_BAD;
    }
    memset(t + f->nfd_flags, 0, n - f->nfd_flags);
    f->fd_flags = t;
    f->nfd_flags = n;
  }
  f->fd_flags[fd] |= UVA__FD_OWNED;
  return fd;
}

int uva__fetch_close_socket_cb(void *clientp, curl_socket_t fd) {
  uva_fetch_t *f = clientp;
  /* The watcher goes before the descriptor, so libuv never watches a
   * closed (or reused) descriptor. */
  uva__fetch_sock_close(f, fd);
  if (fd >= 0 && (size_t) fd < f->nfd_flags)
    f->fd_flags[fd] = 0;
  return close(fd);
}

static void on_curl_timer(uv_timer_t *t) {
  uva_fetch_t *f = t->data;
  int running = 0;
  f->in_curl_timer = 1;
  curl_multi_socket_action(f->multi, CURL_SOCKET_TIMEOUT, 0, &running);
  f->in_curl_timer = 0;
  uva__fetch_drain(f);
}

int uva__fetch_timer_cb(CURLM *multi, long timeout_ms, void *userp) {
  uva_fetch_t *f = userp;
  uint64_t ms;
  (void) multi;
  if (timeout_ms < 0) {
    uv_timer_stop(&f->curl_timer);
    return 0;
  }
  /* Zero becomes a 0 ms libuv timer: libcurl is called back from the
   * loop, never from inside its own callback.  Asked for from inside that
   * timer's run, 0 ms would run it again in the same timers phase, before
   * any socket is polled: then it waits for the next loop turn (1 ms). */
  ms = (uint64_t) timeout_ms;
  if (ms == 0 && f->in_curl_timer)
    ms = 1;
  uv_timer_start(&f->curl_timer, on_curl_timer, ms, 0);
  return 0;
}

