/* fetch_recv.c: the response's libcurl callbacks for one request: its
 * header lines (the header block, the status, Content-Length) and its body
 * (into memory, a loop turn at a time when streamed, or into the file of
 * `output`).  They touch only the request. */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fetch_internal.h"

static int reserve(char **buf, size_t *cap, size_t need) {
  size_t n;
  char *b;
  if (need <= *cap)
    return 0;
  n = *cap ? *cap : 256;
  while (n < need)
    n *= 2;
  b = realloc(*buf, n);
  if (b == NULL)
    return -1;
  *buf = b;
  *cap = n;
  return 0;
}

/* The body's file, opened (truncated) for the attempt that has a body to
 * write, or for a successful one without: a retry starts it afresh. */
int uva__freq_open_out(uva_freq_t *r) {
  if (r->out_fd >= 0)
    return 0;
  do
    r->out_fd = open(r->output, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0666);
  while (r->out_fd < 0 && errno == EINTR);
  if (r->out_fd < 0) {
    r->out_errno = errno;
    return -1;
  }
  r->out_len = 0;
  return 0;
}

/* Ends the attempt's file; -1 (out_errno set) if the data did not make it. */
int uva__freq_close_out(uva_freq_t *r) {
  int fd = r->out_fd;
  r->out_fd = -1;
  /* close() after EINTR must not be retried on Linux: the fd is gone. */
  if (fd >= 0 && close(fd) != 0 && errno != EINTR && r->out_errno == 0) {
    r->out_errno = errno;
    return -1;
  }
  return r->out_errno != 0 ? -1 : 0;
}

/* A chunk of body for the file: written whole, or the transfer ends. */
static size_t write_out(uva_freq_t *r, const char *data, size_t n) {
  size_t done = 0;
  if (r->o.max_body > 0 && (double) (r->out_len + n) > r->o.max_body) {
    r->too_large = 1;
    return 0;
  }
  if (uva__freq_open_out(r) != 0)
    return 0;
  while (done < n) {
    ssize_t w = write(r->out_fd, data + done, n - done);
    if (w < 0) {
      if (errno == EINTR)
        continue;
      r->out_errno = errno;
      return 0;  /* Ends the transfer with CURLE_WRITE_ERROR. */
    }
    done += (size_t) w;
  }
  r->out_len += n;
  return n;
}

size_t uva__freq_on_body(char *data, size_t size, size_t nmemb, void *arg) {
  uva_freq_t *r = arg;
  size_t n = size * nmemb;
  size_t need = r->res.body_len + n;

  if (r->streaming && r->reader_full) {
    /* The reader has all it wants: this chunk comes again when it asks
     * for more (uva_freq_hold). */
    r->user_paused = 1;
    return CURL_WRITEFUNC_PAUSE;
  }
  if (r->body_map > 0 && need > r->body_cap) {
    if (r->res.body_len > 0) {
      /* This turn's chunk has the rest of its mapping: what does not fit
       * comes next turn, into the next one (this chunk has been handed over
       * by then). */
      uva__fetch_hold(r->f, r);
      return CURL_WRITEFUNC_PAUSE;
    }
    /* A new chunk, and what is left of the mapping is too little: a new
     * mapping (below); this one goes with its chunks. */
    uva_body_free(NULL, r->body_map);
    r->res.body = NULL;
    r->body_cap = 0;
    r->body_map = 0;
    r->body_ready = 0;
  }
  if (r->turn_bytes > 0 && r->turn_bytes + n > UVA_FETCH_TURN_BYTES) {
    /* Enough of this transfer for one loop turn, which takes at most
     * UVA_FETCH_TURN_BYTES (a chunk that would pass it waits: with
     * output's 512 KiB reads a turn had gone up to 4.5 MiB): this chunk
     * comes again when it resumes, next turn (fetch.c, on_resume). */
    uva__fetch_hold(r->f, r);
    return CURL_WRITEFUNC_PAUSE;
  }
  r->turn_bytes += n;

  if (r->output != NULL)
    return write_out(r, data, n);
  if (r->streaming)
    uva__fetch_news(r->f, r);  /* Its reader bounds it, not max_body. */
  else if (r->o.max_body > 0 && (double) need > r->o.max_body) {
    r->too_large = 1;
    return 0;  /* Ends the transfer with CURLE_WRITE_ERROR. */
  }
  if (need > r->body_cap) {
    /* The first chunk sizes the buffer from Content-Length when known. */
    /* A streamed body is handed over a turn at a time: at most a turn's
     * worth (the rest of it would be a reallocation per doubling). */
    size_t hint = r->res.body_len == 0 && r->content_length > 0 &&
                          (r->streaming || r->o.max_body <= 0 ||
                           (double) r->content_length <= r->o.max_body)
                      ? (size_t) r->content_length
                      : 0;
    if (r->streaming && hint > UVA_FETCH_TURN_BYTES + 65536)
      hint = UVA_FETCH_TURN_BYTES + 65536;
    if (r->streaming && r->map_turns && r->body_cap == 0)
      hint = UVA_FETCH_TURN_BYTES;
    if (r->streaming && hint >= UVA_FETCH_CHUNK_MAP_MIN && hint > need &&
        r->body_cap == 0) {
      /* A large streamed body: a mapping of a turn's bytes (whole 2 MiB
       * units; fetch_chunk.c), which this turn's chunk and the next ones
       * are cut from (uva_freq_take_body_map) until what is left of it is
       * too little (above). */
      size_t size = hint > UVA_FETCH_TURN_BYTES ? UVA_FETCH_TURN_BYTES : hint;
      uva__cmap_t *m = uva__cmap_new(&size, &r->body_ready);
      if (m == NULL)
        return 0;
      r->res.body = m->base;
      r->body_cap = size;
      r->body_map = (size_t) (uintptr_t) m;
    } else if (r->streaming && r->content_length < 0 && r->body_map == 0 &&
               need > UVA_FETCH_CHUNK_MAP_MIN / 4 &&
               need <= UVA_FETCH_TURN_BYTES) {
      /* No Content-Length, and more than a quarter of a mapping in this
       * turn: a large body after all.  On to a mapping, this turn and the
       * next ones, as for a body known to be large. */
      size_t size = UVA_FETCH_TURN_BYTES;
      uva__cmap_t *m = uva__cmap_new(&size, &r->body_ready);
      if (m == NULL)
        return 0;
      memcpy(m->base, r->res.body, r->res.body_len);
      free(r->res.body);
      r->res.body = m->base;
      r->body_cap = size;
      r->body_map = (size_t) (uintptr_t) m;
      r->map_turns = 1;
    } else if (hint > need && r->body_cap == 0) {
      char *b = malloc(hint);
      if (b == NULL)
        return 0;
      r->res.body = (uint8_t *) b;
      r->body_cap = hint;
    } else if (reserve((char **) &r->res.body, &r->body_cap, need) != 0) {
      return 0;
    }
  }
  if (r->body_map > 0 && need > r->body_ready)
    uva__chunk_ready(r->res.body, r->body_cap, &r->body_ready, need);
  memcpy(r->res.body + r->res.body_len, data, n);
  r->res.body_len = need;
  return n;
}

/* Whether the response whose header block just ended is handed over as it
 * arrives: a final one (not 1xx) that the caller does not follow (a 3xx,
 * unless stream 2) and the pool will not retry (a retryable status with
 * retries left, as uva__freq_should_retry judges it at the end). */
static int stream_this(const uva_freq_t *r) {
  int s = r->head_status;
  uint32_t retries;
  if (s < 200)
    return 0;
  if (r->o.stream != 2 && (s == 301 || s == 302 || s == 303 || s == 307 || s == 308))
    return 0;
  if (s == 408 || s == 429 || s == 500 || s == 502 || s == 503 || s == 504) {
    retries = r->o.retries >= 0 ? (uint32_t) r->o.retries
                                : (r->pool != NULL ? r->pool->o.retries : 0);
    if (r->res.attempts <= retries && (r->idempotent || r->o.retry_any_method))
      return 0;
  }
  return 1;
}

/* Each header line: a status line starts a new response (after a redirect
 * or a 100), the others become "name\0value\0" with the name in lower
 * case and the value trimmed. */
size_t uva__freq_on_header(char *data, size_t size, size_t nmemb, void *arg) {
  uva_freq_t *r = arg;
  size_t n = size * nmemb;
  size_t len = n;
  size_t colon;
  size_t vs;
  size_t i;
  char *out;

  while (len > 0 && (data[len - 1] == '\r' || data[len - 1] == '\n'))
    len--;
  if (memchr(data, '\0', len) != NULL) {
    /* A NUL would split the "name\0value\0" block wrongly (and no valid
     * header has one): the response is malformed. */
    r->bad_header = 1;
    return 0;
  }
  if (len >= 5 && memcmp(data, "HTTP/", 5) == 0) {
    /* "HTTP/1.1 200 OK": the reason is what follows the second space. */
    const char *sp = memchr(data, ' ', len);
    const char *reason = NULL;
    size_t rl = 0;
    if (sp != NULL)
      reason = memchr(sp + 1, ' ', len - (size_t) (sp + 1 - data));
    if (reason != NULL) {
      reason++;
      rl = len - (size_t) (reason - data);
      if (rl >= sizeof(r->res.reason))
        rl = sizeof(r->res.reason) - 1;
      memcpy(r->res.reason, reason, rl);
    }
    r->res.reason[rl] = '\0';
    r->head_status = sp != NULL ? atoi(sp + 1) : 0;
    if (len >= 8 && memcmp(data + 5, "1.0", 3) == 0)
      r->head_version = 10;
    else if (len >= 8 && memcmp(data + 5, "1.1", 3) == 0)
      r->head_version = 11;
    else if (len >= 6 && data[5] == '2')
      r->head_version = 20;
    else if (len >= 6 && data[5] == '3')
      r->head_version = 30;
    else
      r->head_version = 0;
    r->res.headers_len = 0;
    r->content_length = -1;
    r->got_status = 1;
    r->headers_done = 0;
    return n;
  }
  if (len == 0) {
    r->headers_done = 1;  /* The blank line that ends a header block. */
    if (r->o.stream && !r->streaming && stream_this(r)) {
      r->streaming = 1;
      uva__fetch_news(r->f, r);
    }
    return n;
  }
  if (data[0] == ' ' || data[0] == '\t') {
    /* An obsolete folded line continues the previous value. */
    if (r->res.headers_len == 0)
      return n;
    vs = 0;
    while (vs < len && (data[vs] == ' ' || data[vs] == '\t'))
      vs++;
    while (len > vs && (data[len - 1] == ' ' || data[len - 1] == '\t'))
      len--;
    if (vs == len)
      return n;  /* Only blanks: nothing to add. */
    if (reserve(&r->res.headers, &r->headers_cap,
                r->res.headers_len + len - vs + 1) != 0)
      return 0;
    /* "value\0" becomes "value continuation\0": one space over the old
     * NUL, the continuation, a new NUL. */
    out = r->res.headers + r->res.headers_len - 1;
    *out++ = ' ';
    memcpy(out, data + vs, len - vs);
    out[len - vs] = '\0';
    r->res.headers_len += len - vs + 1;
    return n;
  }
  for (colon = 0; colon < len && data[colon] != ':'; colon++)
    ;
  if (colon == len || colon == 0)
    return n;  /* Not a header; libcurl judges malformed responses. */
  vs = colon + 1;
  while (vs < len && (data[vs] == ' ' || data[vs] == '\t'))
    vs++;
  while (len > vs && (data[len - 1] == ' ' || data[len - 1] == '\t'))
    len--;
  if (reserve(&r->res.headers, &r->headers_cap,
              r->res.headers_len + colon + 1 + (len - vs) + 1) != 0)
    return 0;
  out = r->res.headers + r->res.headers_len;
  for (i = 0; i < colon; i++)
    out[i] = (char) tolower((unsigned char) data[i]);
  out[colon] = '\0';
  memcpy(out + colon + 1, data + vs, len - vs);
  out[colon + 1 + len - vs] = '\0';
  if (colon == 14 && memcmp(out, "content-length", 14) == 0)
    r->content_length = strtoll(out + colon + 1, NULL, 10);
  r->res.headers_len += colon + 1 + (len - vs) + 1;
  return n;
}
