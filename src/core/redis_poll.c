/* redis_poll.c: hiredis's event hooks on a libuv uv_poll_t (redis_poll.h).
 *
 * hiredis asks for read and write interest; one uv_poll_t on its socket
 * follows it.  A poll error goes to hiredis as a read (it reads the
 * socket's error: a refused connect is reported as one), and hiredis's
 * cleanup stops and closes the poll before hiredis closes the socket.  A
 * context's poll is an allocation of its own: hiredis may free an old
 * context (and so close its poll) after a new one has been made. */
#include <stdlib.h>

#include "redis_poll.h"

struct uva__rpoll_s {
  uv_poll_t poll; /* First: the handle is the struct. */
  int events;
  void (*gone)(uva__rpoll_t *k, void *arg);
  void (*closed)(void *arg);
  void *arg;
};

static void on_poll(uv_poll_t *p, int status, int events) {
  redisAsyncContext *ac = p->data;
  if (ac == NULL)
    return;
  if (status < 0 || (events & UV_READABLE))
    redisAsyncHandleRead(ac); /* An error is read from the socket. */
  else if (events & UV_WRITABLE)
    redisAsyncHandleWrite(ac);
}

static void poll_update(uva__rpoll_t *k, int add, int ev) {
  int events = add ? (k->events | ev) : (k->events & ~ev);
  if (events == k->events)
    return;
  k->events = events;
  if (events == 0)
    uv_poll_stop(&k->poll);
  else
    uv_poll_start(&k->poll, events, on_poll);
}

static void ev_add_read(void *d) { poll_update(d, 1, UV_READABLE); }
static void ev_del_read(void *d) { poll_update(d, 0, UV_READABLE); }
static void ev_add_write(void *d) { poll_update(d, 1, UV_WRITABLE); }
static void ev_del_write(void *d) { poll_update(d, 0, UV_WRITABLE); }

static void on_poll_closed(uv_handle_t *h) {
  uva__rpoll_t *k = (uva__rpoll_t *)h;
  void (*closed)(void *arg) = k->closed;
  void *arg = k->arg;
  free(k);
  closed(arg);
}

/* hiredis is about to close its socket: the poll goes first. */
static void ev_cleanup(void *d) {
  uva__rpoll_t *k = d;
  k->gone(k, k->arg);
  uv_poll_stop(&k->poll);
  k->poll.data = NULL;
  uv_close((uv_handle_t *)&k->poll, on_poll_closed);
}

uva__rpoll_t *uva__rpoll_attach(uv_loop_t *loop, redisAsyncContext *ac,
                                void (*gone)(uva__rpoll_t *k, void *arg),
                                void (*closed)(void *arg), void *arg) {
  uva__rpoll_t *k = calloc(1, sizeof(*k));
  if (k == NULL || uv_poll_init(loop, &k->poll, ac->c.fd) != 0) {
    free(k);
    return NULL;
  }
  k->gone = gone;
  k->closed = closed;
  k->arg = arg;
  k->poll.data = ac;
  ac->ev.data = k;
  ac->ev.addRead = ev_add_read;
  ac->ev.delRead = ev_del_read;
  ac->ev.addWrite = ev_add_write;
  ac->ev.delWrite = ev_del_write;
  ac->ev.cleanup = ev_cleanup;
  poll_update(k, 1, UV_WRITABLE);
  return k;
}

uv_handle_t *uva__rpoll_handle(uva__rpoll_t *k) {
  return (uv_handle_t *)&k->poll;
}
