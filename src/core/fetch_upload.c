/* fetch_upload.c: a request body fed while the request runs (a stream the
 * caller reads as it goes), through libcurl's read callback with pause.
 *
 * The feeder appends copies (uva_freq_feed) and waits once more than
 * UVA_FETCH_UPLOAD_HIGH is held; the read callback takes from the front,
 * and once it has taken the buffer down to UVA_FETCH_UPLOAD_LOW a waiting
 * feeder gets news (uva_freq_take_want, through the data callback, once per
 * loop turn).  With nothing held the read callback pauses the sending side
 * only, and the next feed resumes it.  The body is never read twice: such
 * a request is not retried (uva_freq_new), and a rewind libcurl asks for is
 * refused (CURLE_SEND_FAIL_REWIND). */
#include <stdlib.h>
#include <string.h>

#include "fetch_internal.h"

/* What the transfer stays paused for: the reader of its response (held for
 * the turn, or full) and its fed body (nothing held). */
int uva__freq_pause_mask(const uva_freq_t *r) {
  int mask = 0;
  if (r->paused || r->user_paused)
    mask |= CURLPAUSE_RECV;
  if (r->up_paused)
    mask |= CURLPAUSE_SEND;
  return mask;
}

size_t uva__freq_on_read(char *buf, size_t size, size_t nitems, void *arg) {
  uva_freq_t *r = arg;
  size_t room = size * nitems;
  size_t held = r->up_len - r->up_off;
  size_t n = held < room ? held : room;

  if (n == 0) {
    if (r->up_ended)
      return 0;
    r->up_paused = 1;  /* uva_freq_feed resumes it. */
    return CURL_READFUNC_PAUSE;
  }
  memcpy(buf, r->up_buf + r->up_off, n);
  r->up_off += n;
  held -= n;
  if (held == 0)
    r->up_off = r->up_len = 0;
  if (r->up_waiting && held <= UVA_FETCH_UPLOAD_LOW) {
    r->up_waiting = 0;
    r->up_want = 1;
    uva__fetch_news(r->f, r);
  }
  return n;
}

int uva_freq_feed(uva_freq_t *r, const void *data, size_t len, int end) {

  if (!r->upload || r->up_ended)
    return UVA_EBADSTATE;
  if (len > 0) {
    if (r->up_off > 0 && r->up_off >= r->up_len / 2) {
      /* The front is mostly taken: move the rest down, not the buffer up. */
      memmove(r->up_buf, r->up_buf + r->up_off, r->up_len - r->up_off);
      r->up_len -= r->up_off;
      r->up_off = 0;
    }
    if (r->up_len + len > r->up_cap) {
      size_t cap = r->up_cap ? r->up_cap : 64 * 1024;
      uint8_t *b;
      while (cap < r->up_len + len)
        cap *= 2;
      b = realloc(r->up_buf, cap);
      if (b == NULL)
        return UV_ENOMEM;
      r->up_buf = b;
      r->up_cap = cap;
    }
    memcpy(r->up_buf + r->up_len, data, len);
    r->up_len += len;
  }
  if (end)
    r->up_ended = 1;
  if (!r->up_ended && r->up_len - r->up_off > UVA_FETCH_UPLOAD_HIGH)
    r->up_waiting = 1;
  if (r->up_paused && (len > 0 || end)) {
    r->up_paused = 0;
    /* From JS, outside libcurl's callbacks: libcurl asks for its timer at
     * 0 ms and sends from there. */
    if (r->easy != NULL)
      curl_easy_pause(r->easy, uva__freq_pause_mask(r));
  }
  return r->up_waiting;
}

int uva_freq_take_want(uva_freq_t *r) {
  int want = r->up_want;
  r->up_want = 0;
  return want;
}

uint8_t *uva_freq_take_chunk(uva_freq_t *r, size_t *len, size_t *map) {
  if (!r->streaming) {
    *len = 0;
    *map = 0;
    return NULL;
  }
  return uva_freq_take_body_map(r, len, map);
}
