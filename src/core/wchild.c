/* wchild.c: the child's side of the WorkerPool's process kind (wproc.h).
 *
 * The child reads its tasks from fd 3 on its own loop and runs one at a
 * time: a task that comes while one runs waits here, and uva_wchild_done
 * hands it over in the call that sends the result.  The end of fd 3 means
 * the pool is gone (closed, or its process died): the callback hears id 0. */
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>

#include "wproc.h"

typedef struct ctask_s {
  uint64_t id;
  uint8_t *data;
  size_t len;
  struct ctask_s *next;
} ctask_t;

struct uva_wchild_s {
  void *data;
  uva_wchild_cb cb;
  uv_pipe_t pipe;
  uva_wframer_t framer;
  ctask_t *qhead, *qtail;
  int busy;
  int ended;
  int closed;
  void (*close_cb)(void *data);
};

static int take(uva_wchild_t *c, uint64_t *id, uint8_t **data, size_t *len) {
  ctask_t *t = c->qhead;
  if (c->busy || c->closed || t == NULL)
    return 0;
  c->qhead = t->next;
  if (c->qhead == NULL)
    c->qtail = NULL;
  c->busy = 1;
  *id = t->id;
  *data = t->data;
  *len = t->len;
  free(t);
  return 1;
}

/* An idle child gets its task through the callback. */
static void offer(uva_wchild_t *c) {
  uint64_t id;
  uint8_t *data;
  size_t len;
  if (take(c, &id, &data, &len))
    c->cb(c, id, data, len);
}

static int on_frame(void *arg, int type, int status, uint64_t id,
                    uint8_t *data, size_t len) {
  uva_wchild_t *c = arg;
  ctask_t *t;
  (void)status;
  if (type != UVA_WFRAME_TASK || id == 0) {
    free(data);
    return UV_EPROTO;
  }
  if ((t = malloc(sizeof(*t))) == NULL) {
    free(data);
    return UV_ENOMEM;
  }
  t->id = id;
  t->data = data;
  t->len = len;
  t->next = NULL;
  if (c->qtail != NULL)
    c->qtail->next = t;
  else
    c->qhead = t;
  c->qtail = t;
  offer(c);
  return 0;
}

static void on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf) {
  uva_wchild_t *c = h->data;
  (void)suggested;
  uva__wframer_alloc(&c->framer, buf);
}

static void on_read(uv_stream_t *s, ssize_t n, const uv_buf_t *buf) {
  uva_wchild_t *c = s->data;
  int rc = 0;
  if (n > 0)
    rc = uva__wframer_feed(&c->framer, buf, (size_t)n, on_frame, c);
  if ((n >= 0 && rc == 0) || c->ended || c->closed)
    return;
  uv_read_stop(s);
  c->ended = 1;
  c->cb(c, 0, NULL, 0);
}

int uva_wchild_open(uv_loop_t *loop, int fd, uva_wchild_cb cb, void *data,
                    uva_wchild_t **out) {
  uva_wchild_t *c;
  int rc, flags;
  *out = NULL;
  if ((flags = fcntl(fd, F_GETFD)) < 0)
    return UV_EBADF;
  fcntl(fd, F_SETFD, flags | FD_CLOEXEC);
  if ((c = calloc(1, sizeof(*c))) == NULL)
    return UV_ENOMEM;
  c->data = data;
  c->cb = cb;
  uva__wframer_init(&c->framer, 1u << UVA_WFRAME_TASK);
  if ((rc = uv_pipe_init(loop, &c->pipe, 0)) != 0) {
    free(c);
    return rc;
  }
  c->pipe.data = c;
  if ((rc = uv_pipe_open(&c->pipe, fd)) != 0 ||
      (rc = uv_read_start((uv_stream_t *)&c->pipe, on_alloc, on_read)) != 0) {
    /* The handle is closed by the caller's uva_wchild_close. */
    c->ended = 1;
  }
  *out = c;
  return rc;
}

void *uva_wchild_data(const uva_wchild_t *c) {
  return c->data;
}

int uva_wchild_send(uva_wchild_t *c, int type, const uva_wbuf_t *body) {
  if (c->closed)
    return UVA_EBADSTATE;
  return uva__wframe_write((uv_stream_t *)&c->pipe, type, 0, 0, NULL, body);
}

int uva_wchild_next(uva_wchild_t *c, uint64_t *id, uint8_t **data,
                    size_t *len) {
  return take(c, id, data, len);
}

int uva_wchild_done(uva_wchild_t *c, uint64_t id, int status,
                    const uva_wbuf_t *head, const uva_wbuf_t *body,
                    uint64_t *next_id, uint8_t **next_data, size_t *next_len) {
  if (c->closed)
    return 0;
  c->busy = 0;
  if (uva__wframe_write((uv_stream_t *)&c->pipe, UVA_WFRAME_RESULT, status, id,
                        head, body) != 0)
    return 0; /* The pool is gone: the read side tells of it. */
  return take(c, next_id, next_data, next_len);
}

static void on_closed(uv_handle_t *h) {
  uva_wchild_t *c = h->data;
  ctask_t *t;
  void (*cb)(void *) = c->close_cb;
  void *data = c->data;
  while ((t = c->qhead) != NULL) {
    c->qhead = t->next;
    free(t->data);
    free(t);
  }
  uva__wframer_free(&c->framer);
  free(c);
  if (cb != NULL)
    cb(data);
}

void uva_wchild_close(uva_wchild_t *c, void (*close_cb)(void *data)) {
  if (c->closed)
    return;
  c->closed = 1;
  c->close_cb = close_cb;
  uv_close((uv_handle_t *)&c->pipe, on_closed);
}
