/* wframe.c: the frames of the WorkerPool's process kind (wproc.h).
 *
 * Reading: a head is gathered in the framer, then its payload gets one
 * allocation of its full length.  While a large part of a payload is still
 * to come, libuv reads straight into it; small frames are read many to a
 * read into the stage and copied out.  Writing: what the socket takes at
 * once goes without a copy (uv_try_write); the rest is copied into one
 * write request behind it. */
#include <stdlib.h>
#include <string.h>

#include "wproc.h"

/* A payload with at least this much to come is read in place. */
#define DIRECT_MIN (16 * 1024)

void uva__wframer_init(uva_wframer_t *f, unsigned types) {
  memset(f, 0, sizeof(*f));
  f->types = types;
}

void uva__wframer_free(uva_wframer_t *f) {
  free(f->payload);
  free(f->stage);
  f->payload = NULL;
  f->stage = NULL;
}

void uva__wframer_alloc(uva_wframer_t *f, uv_buf_t *buf) {
  if (f->in_payload && f->len - f->got >= DIRECT_MIN) {
    *buf = uv_buf_init((char *)f->payload + f->got,
                       (unsigned)(f->len - f->got));
    return;
  }
  if (f->stage == NULL)
    f->stage = malloc(UVA_WFRAME_STAGE);
  *buf = uv_buf_init((char *)f->stage, f->stage ? UVA_WFRAME_STAGE : 0);
}

/* The payload is whole: it goes to cb, the framer waits for a head. */
static int emit(uva_wframer_t *f, uva_wframe_cb cb, void *arg) {
  uint16_t type, status;
  uint64_t id;
  uint8_t *data = f->payload;
  size_t len = f->len;
  memcpy(&type, f->head + 4, 2);
  memcpy(&status, f->head + 6, 2);
  memcpy(&id, f->head + 8, 8);
  f->payload = NULL;
  f->len = f->got = f->have = 0;
  f->in_payload = 0;
  return cb(arg, type, status, id, data, len);
}

/* A head is whole: room for its payload, if it is of a type this end takes
 * (a peer that lies is not given memory for what it claims). */
static int begin(uva_wframer_t *f) {
  uint32_t len;
  uint16_t type;
  memcpy(&len, f->head, 4);
  memcpy(&type, f->head + 4, 2);
  if (type >= 8 * sizeof(f->types) || !(f->types & (1u << type)))
    return UV_EPROTO;
  f->len = len;
  f->got = 0;
  f->in_payload = 1;
  f->payload = NULL;
  if (len > 0 && (f->payload = malloc(len)) == NULL)
    return UV_ENOMEM;
  return 0;
}

int uva__wframer_feed(uva_wframer_t *f, const uv_buf_t *buf, size_t nread,
                      uva_wframe_cb cb, void *arg) {
  const uint8_t *p = (const uint8_t *)buf->base;
  int rc;
  if (f->in_payload && f->payload != NULL && p == f->payload + f->got) {
    /* Read in place. */
    f->got += nread;
    return f->got == f->len ? emit(f, cb, arg) : 0;
  }
  while (nread > 0) {
    if (!f->in_payload) {
      size_t n = UVA_WFRAME_HEAD - f->have;
      if (n > nread)
        n = nread;
      memcpy(f->head + f->have, p, n);
      f->have += n;
      p += n;
      nread -= n;
      if (f->have < UVA_WFRAME_HEAD)
        break;
      if ((rc = begin(f)) != 0)
        return rc;
    } else {
      size_t n = f->len - f->got;
      if (n > nread)
        n = nread;
      memcpy(f->payload + f->got, p, n);
      f->got += n;
      p += n;
      nread -= n;
    }
    if (f->in_payload && f->got == f->len && (rc = emit(f, cb, arg)) != 0)
      return rc;
  }
  return 0;
}

typedef struct wwrite_s {
  uv_write_t req;
  uint8_t *copy; /* The part the socket did not take at once. */
} wwrite_t;

static void on_written(uv_write_t *req, int status) {
  wwrite_t *w = (wwrite_t *)req;
  (void)status; /* A failed write shows as the stream's end or error. */
  free(w->copy);
  free(w);
}

int uva__wframe_write(uv_stream_t *s, int type, int status, uint64_t id,
                      const uva_wbuf_t *head, const uva_wbuf_t *body) {
  uint8_t h[UVA_WFRAME_HEAD];
  uv_buf_t bufs[3];
  size_t total, done, off, i;
  uint32_t len;
  uint16_t t16 = (uint16_t)type, s16 = (uint16_t)status;
  int n;
  wwrite_t *w;
  uv_buf_t rest;
  total = (head ? head->len : 0) + (body ? body->len : 0);
  if (total > UINT32_MAX)
    return UV_E2BIG;
  len = (uint32_t)total;
  memcpy(h, &len, 4);
  memcpy(h + 4, &t16, 2);
  memcpy(h + 6, &s16, 2);
  memcpy(h + 8, &id, 8);
  bufs[0] = uv_buf_init((char *)h, UVA_WFRAME_HEAD);
  bufs[1] = uv_buf_init(head ? (char *)head->base : NULL,
                        head ? (unsigned)head->len : 0);
  bufs[2] = uv_buf_init(body ? (char *)body->base : NULL,
                        body ? (unsigned)body->len : 0);
  n = uv_try_write(s, bufs, 3);
  if (n < 0 && n != UV_EAGAIN && n != UV_ENOSYS)
    return n;
  done = n > 0 ? (size_t)n : 0;
  total += UVA_WFRAME_HEAD;
  if (done == total)
    return 0;
  w = malloc(sizeof(*w));
  if (w == NULL || (w->copy = malloc(total - done)) == NULL) {
    free(w);
    return UV_ENOMEM;
  }
  for (i = 0, off = 0; i < 3; i++) {
    size_t from = done > off ? done - off : 0;
    if (from < bufs[i].len) {
      memcpy(w->copy + (off + from - done), bufs[i].base + from,
             bufs[i].len - from);
    }
    off += bufs[i].len;
  }
  rest = uv_buf_init((char *)w->copy, (unsigned)(total - done));
  n = uv_write(&w->req, s, &rest, 1, on_written);
  if (n != 0) {
    free(w->copy);
    free(w);
  }
  return n;
}
