/* fetch_req.c: one request: its easy-handle options, the body and header
 * callbacks, the result copied out at the end, and the retry rule. */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "fetch_internal.h"

static char *dup_str(const char *s) {
  return s != NULL ? strdup(s) : NULL;
}

/* "host:port" of an http(s) URL, lower case, without user info. */
static char *host_key(const char *url) {
  const char *p = strstr(url, "://");
  const char *end;
  const char *at;
  char *key;
  size_t i;
  size_t n;

  p = p != NULL ? p + 3 : url;
  end = p + strcspn(p, "/?#");
  for (at = p; at < end; at++) {
    if (*at == '@') {
      p = at + 1;
    }
  }
  n = (size_t) (end - p);
  key = malloc(n + 1);
  if (key == NULL)
    return NULL;
  for (i = 0; i < n; i++)
    key[i] = (char) tolower((unsigned char) p[i]);
  key[n] = '\0';
  return key;
}

/* Methods whose requests carry a body by convention (a Content-Length
 * even when it is 0). */
static int method_expects_body(const char *m) {
  return strcmp(m, "POST") == 0 || strcmp(m, "PUT") == 0 ||
         strcmp(m, "PATCH") == 0;
}

static int method_is_idempotent(const char *m) {
  static const char *const ok[] = {"GET", "HEAD", "OPTIONS", "PUT", "DELETE",
                                   "TRACE"};
  size_t i;
  for (i = 0; i < sizeof(ok) / sizeof(ok[0]); i++)
    if (strcmp(m, ok[i]) == 0)
      return 1;
  return 0;
}

/* FNV-1a over every option that uva__freq_setup() turns into a setopt,
 * but the URL (only its scheme) and the body (only whether there is one):
 * an easy handle set up for one request serves the next with the same
 * profile after a handful of setopts, without curl_easy_reset(). */
static uint64_t fnv(uint64_t h, const void *p, size_t n) {
  const unsigned char *b = p;
  size_t i;
  for (i = 0; i < n; i++) {
    h ^= b[i];
    h *= 1099511628211ULL;
  }
  return h;
}

static uint64_t profile_of(const uva_freq_t *r, const uva_freq_opts_t *o) {
  uint64_t h = 14695981039346656037ULL;
  const struct curl_slist *l;
  double nums[5];
  int32_t ints[5];
  int tls = strncasecmp(r->url, "https:", 6) == 0;

  nums[0] = o->timeout;
  nums[1] = o->connect_timeout;
  nums[2] = o->max_body;
  nums[3] = o->stream;  /* Whether CURLOPT_MAXFILESIZE is set. */
  nums[4] = o->upload ? o->upload_len : 0;
  ints[0] = o->max_redirects;
  ints[1] = o->decompress;
  ints[2] = o->http2;
  ints[3] = r->has_body + 2 * r->upload;
  ints[4] = tls;
  h = fnv(h, nums, sizeof(nums));
  h = fnv(h, ints, sizeof(ints));
  h = fnv(h, r->method, strlen(r->method) + 1);
  if (r->user_agent != NULL)
    h = fnv(h, r->user_agent, strlen(r->user_agent) + 1);
  h = fnv(h, "|", 1);
  if (r->ca != NULL)
    h = fnv(h, r->ca, r->ca_len);
  h = fnv(h, "|", 1);
  if (r->accept_encoding != NULL)
    h = fnv(h, r->accept_encoding, strlen(r->accept_encoding) + 1);
  h = fnv(h, "|", 1);
  for (l = r->headers; l != NULL; l = l->next)
    h = fnv(h, l->data, strlen(l->data) + 1);
  return h == 0 ? 1 : h;  /* 0 means "a fresh handle". */
}

/* libcurl reads "Name:" with no value as "remove Name"; an empty value is
 * sent when written "Name;". */
static struct curl_slist *append_header(struct curl_slist *list,
                                        const char *line) {
  const char *colon = strchr(line, ':');
  const char *v;
  struct curl_slist *l;
  char *copy;
  size_t n;

  if (colon == NULL)
    return curl_slist_append(list, line);
  for (v = colon + 1; *v == ' ' || *v == '\t'; v++)
    ;
  if (*v != '\0')
    return curl_slist_append(list, line);
  n = (size_t) (colon - line);
  copy = malloc(n + 2);
  if (copy == NULL)
    return NULL;
  memcpy(copy, line, n);
  copy[n] = ';';
  copy[n + 1] = '\0';
  l = curl_slist_append(list, copy);
  free(copy);
  return l;
}

int uva_freq_new(const uva_freq_opts_t *o, void *data, uva_freq_t **out) {
  uva_freq_t *r = calloc(1, sizeof(*r));
  size_t i;
  int has_expect = 0;
  int has_type = 0;

  if (r == NULL)
    return UV_ENOMEM;
  r->out_fd = -1;
  r->data = data;
  r->o = *o;
  r->o.url = NULL;
  r->o.method = NULL;
  r->o.headers = NULL;
  r->o.body = NULL;
  r->o.ca = NULL;
  r->o.accept_encoding = NULL;
  r->o.output = NULL;
  r->url = dup_str(o->url);
  r->method = dup_str(o->method != NULL ? o->method : "GET");
  r->host = r->url != NULL ? host_key(r->url) : NULL;
  if (r->url == NULL || r->method == NULL || r->host == NULL)
    goto fail;
  if (o->accept_encoding != NULL) {
    r->accept_encoding = strdup(o->accept_encoding);
    if (r->accept_encoding == NULL)
      goto fail;
  }
  if (o->output != NULL) {
    r->output = strdup(o->output);
    if (r->output == NULL)
      goto fail;
  }
  for (i = 0; i < o->nheaders; i++) {
    struct curl_slist *l;
    if (strncasecmp(o->headers[i], "user-agent:", 11) == 0 && r->user_agent == NULL) {
      const char *v = o->headers[i] + 11;
      while (*v == ' ' || *v == '\t')
        v++;
      r->user_agent = strdup(v);
      if (r->user_agent == NULL)
        goto fail;
      continue;
    }
    l = append_header(r->headers, o->headers[i]);
    if (l == NULL)
      goto fail;
    r->headers = l;
    if (strncasecmp(o->headers[i], "expect:", 7) == 0)
      has_expect = 1;
    if (strncasecmp(o->headers[i], "content-type:", 13) == 0)
      has_type = 1;
  }
  if (o->upload) {
    r->upload = 1;
    r->o.retries = 0;  /* What was sent is gone: never a second attempt. */
  }
  if ((o->has_body || o->upload) && !has_expect) {
    /* No "Expect: 100-continue" round trip before a body. */
    struct curl_slist *l = curl_slist_append(r->headers, "Expect:");
    if (l == NULL)
      goto fail;
    r->headers = l;
  }
  if (!has_type && (o->has_body || o->upload || method_expects_body(r->method))) {
    /* A body has the type its caller gives it, or none: not libcurl's
     * "application/x-www-form-urlencoded" for every POST. */
    struct curl_slist *l = curl_slist_append(r->headers, "Content-Type:");
    if (l == NULL)
      goto fail;
    r->headers = l;
  }
  if (o->has_body) {
    r->body = malloc(o->body_len ? o->body_len : 1);
    if (r->body == NULL)
      goto fail;
    if (o->body_len)
      memcpy(r->body, o->body, o->body_len);
    r->body_len = o->body_len;
    r->has_body = 1;
  }
  if (o->ca != NULL && o->ca_len > 0) {
    r->ca = malloc(o->ca_len);
    if (r->ca == NULL)
      goto fail;
    memcpy(r->ca, o->ca, o->ca_len);
    r->ca_len = o->ca_len;
  }
  r->idempotent = method_is_idempotent(r->method);
  r->h2c = o->http2 > 0 && strncasecmp(r->url, "http:", 5) == 0 &&
           (uva_fetch_features() & (UVA_FETCH_HTTP2 | UVA_FETCH_H2C_REUSE)) ==
               (UVA_FETCH_HTTP2 | UVA_FETCH_H2C_REUSE);
  r->content_length = -1;
  r->profile = profile_of(r, o);
  *out = r;
  return 0;

fail:
  uva_freq_free(r);
  return UV_ENOMEM;
}

void *uva_freq_data(const uva_freq_t *r) {
  return r->data;
}

uva_fpool_t *uva_freq_pool(const uva_freq_t *r) {
  return r->pool;
}

const uva_fresult_t *uva_freq_result(const uva_freq_t *r) {
  return &r->res;
}

uint8_t *uva_freq_take_body_map(uva_freq_t *r, size_t *len, size_t *map) {
  uint8_t *b = r->res.body;
  *len = r->res.body_len;
  *map = r->body_map;
  /* A streamed body's chunks count as they go (its pool counts the rest
   * at the end, when r->pool is already NULL here). */
  if (r->streaming && r->pool != NULL)
    r->pool->stats.bytes += r->res.body_len;
  r->res.body = NULL;
  r->res.body_len = 0;
  r->body_cap = 0;
  r->body_map = 0;
  return b;
}

uint8_t *uva_freq_take_body(uva_freq_t *r, size_t *len) {
  size_t map;
  uint8_t *b = uva_freq_take_body_map(r, len, &map);
  uint8_t *copy;
  if (map == 0)
    return b;
  /* Memory of malloc's, as promised. */
  copy = malloc(*len ? *len : 1);
  if (copy != NULL && *len > 0)
    memcpy(copy, b, *len);
  uva_body_free(b, map);
  if (copy == NULL)
    *len = 0;
  return copy;
}

int uva_freq_take_head(uva_freq_t *r, int *status, int *version,
                       const char **headers, size_t *headers_len,
                       const char **reason) {
  if (!r->streaming || r->head_taken)
    return 0;
  r->head_taken = 1;
  *status = r->head_status;
  *version = r->head_version;
  *headers = r->res.headers;
  *headers_len = r->res.headers_len;
  *reason = r->res.reason;
  return 1;
}

void uva_freq_hold(uva_freq_t *r, int full) {
  r->reader_full = full;
  if (full || !r->user_paused)
    return;
  r->user_paused = 0;
  /* Held for the turn too: the idle phase resumes it (fetch.c). */
  if (!r->paused && r->easy != NULL)
    curl_easy_pause(r->easy, uva__freq_pause_mask(r));
}

void uva_freq_free(uva_freq_t *r) {
  if (r == NULL)
    return;
  free(r->url);
  free(r->method);
  free(r->host);
  free(r->user_agent);
  free(r->ca);
  free(r->accept_encoding);
  if (r->out_fd >= 0)
    close(r->out_fd);
  free(r->output);
  free(r->body);
  free(r->up_buf);
  curl_slist_free_all(r->headers);
  free(r->res.headers);
  uva_body_free(r->res.body, r->body_map);
  free((char *) r->res.url);
  free(r);
}

/* ---- libcurl callbacks: they touch only the request ------------------- */

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
static int open_out(uva_freq_t *r) {
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
static int close_out(uva_freq_t *r) {
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
  if (open_out(r) != 0)
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

static size_t on_body(char *data, size_t size, size_t nmemb, void *arg) {
  uva_freq_t *r = arg;
  size_t n = size * nmemb;
  size_t need = r->res.body_len + n;

  if (r->streaming && r->reader_full) {
    /* The reader has all it wants: this chunk comes again when it asks
     * for more (uva_freq_hold). */
    r->user_paused = 1;
    return CURL_WRITEFUNC_PAUSE;
  }
  if (r->body_map > 0 && need > r->body_cap && r->res.body_len > 0) {
    /* This turn's mapping is full: the rest comes next turn, into the
     * next one (this one has been handed over by then). */
    uva__fetch_hold(r->f, r);
    return CURL_WRITEFUNC_PAUSE;
  }
  if (r->turn_bytes >= UVA_FETCH_TURN_BYTES) {
    /* Enough of this transfer for one loop turn: the rest of this chunk
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
    if (r->streaming && hint >= UVA_FETCH_CHUNK_MAP_MIN && hint > need &&
        r->body_cap == 0) {
      /* A large streamed body: a mapping per turn (fetch_chunk.c), of a
       * turn's bytes exactly (whole huge pages); the turn ends when it is
       * full (above). */
      if (hint > UVA_FETCH_TURN_BYTES)
        hint = UVA_FETCH_TURN_BYTES;
      size_t size = hint;
      void *b = uva__chunk_map(&size);
      if (b == NULL)
        return 0;
      r->res.body = (uint8_t *) b;
      r->body_cap = size;
      r->body_map = size;
    } else if (r->body_map > 0) {
      /* Past its mapping (a server that sends more than it said): on to
       * malloc's memory. */
      size_t cap = need * 2;
      uint8_t *b = malloc(cap);
      if (b == NULL)
        return 0;
      memcpy(b, r->res.body, r->res.body_len);
      uva_body_free(r->res.body, r->body_map);
      r->res.body = b;
      r->body_cap = cap;
      r->body_map = 0;
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
static size_t on_header(char *data, size_t size, size_t nmemb, void *arg) {
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

/* ---- Setup ------------------------------------------------------------- */

/* libcurl's default read callback reads the process's stdin: a request
 * is never given a descriptor its caller did not give it. */
static size_t read_nothing(char *buf, size_t size, size_t nitems, void *arg) {
  (void) buf;
  (void) size;
  (void) nitems;
  (void) arg;
  return 0;
}

#define SET(opt, val)                                        \
  do {                                                       \
    CURLcode c_ = curl_easy_setopt(easy, opt, val);          \
    if (c_ != CURLE_OK)                                      \
      return (int) c_;                                       \
  } while (0)

int uva__freq_setup(uva_freq_t *r, CURL *easy, int features) {
  const uva_freq_opts_t *o = &r->o;
  int tls = strncasecmp(r->url, "https:", 6) == 0;
  long version;

  r->errbuf[0] = '\0';
  r->out_errno = 0;
  r->too_large = 0;
  r->got_status = 0;
  r->headers_done = 0;
  r->bad_header = 0;
  r->res.attempts++;
  SET(CURLOPT_URL, r->url);
  SET(CURLOPT_ERRORBUFFER, r->errbuf);
  SET(CURLOPT_NOSIGNAL, 1L);
  SET(CURLOPT_WRITEFUNCTION, on_body);
  SET(CURLOPT_WRITEDATA, r);
  SET(CURLOPT_HEADERFUNCTION, on_header);
  SET(CURLOPT_HEADERDATA, r);
  if (r->upload) {
    SET(CURLOPT_READFUNCTION, uva__freq_on_read);
    SET(CURLOPT_READDATA, r);
  } else {
    SET(CURLOPT_READFUNCTION, read_nothing);
  }
#if LIBCURL_VERSION_NUM >= 0x075500
  SET(CURLOPT_PROTOCOLS_STR, "http,https");
  SET(CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
#else
  SET(CURLOPT_PROTOCOLS, (long) (CURLPROTO_HTTP | CURLPROTO_HTTPS));
  SET(CURLOPT_REDIR_PROTOCOLS, (long) (CURLPROTO_HTTP | CURLPROTO_HTTPS));
#endif
  if (o->max_redirects > 0) {
    SET(CURLOPT_FOLLOWLOCATION, 1L);
    SET(CURLOPT_MAXREDIRS, (long) o->max_redirects);
  }
  if (r->accept_encoding != NULL) {
    SET(CURLOPT_ACCEPT_ENCODING, r->accept_encoding);
    SET(CURLOPT_HTTP_CONTENT_DECODING, 0L);
  } else if (o->decompress) {
    SET(CURLOPT_ACCEPT_ENCODING, "");  /* Every encoding libcurl has. */
  }
  if (o->timeout > 0)
    SET(CURLOPT_TIMEOUT_MS, (long) o->timeout);
  if (o->connect_timeout > 0)
    SET(CURLOPT_CONNECTTIMEOUT_MS, (long) o->connect_timeout);
  /* A streamed body has no bound here (its reader's); one that is not
   * streamed after all (a 3xx, a retried status) is bounded in on_body. */
  if (o->max_body > 0 && !o->stream)
    SET(CURLOPT_MAXFILESIZE_LARGE, (curl_off_t) o->max_body);

  if (o->http2 < 0 || !(features & UVA_FETCH_HTTP2) ||
      (r->upload && !(features & UVA_FETCH_H2_UPLOAD)))
    version = CURL_HTTP_VERSION_1_1;
  else if (tls)
    version = CURL_HTTP_VERSION_2TLS;
  else if (o->http2 > 0 && (features & UVA_FETCH_H2C_REUSE))
    version = CURL_HTTP_VERSION_2_PRIOR_KNOWLEDGE;
  else
    version = CURL_HTTP_VERSION_1_1;
  SET(CURLOPT_HTTP_VERSION, version);
  /* Over TLS, wait to learn whether the connection multiplexes rather than
   * open another.  Not for h2c: libcurl 8.13-8.14 (at least) then leaves
   * every later transfer pending forever, its timeout lost, once the first
   * stream of a prior-knowledge connection fails (curl/curl#18177; seen
   * here with 8.14.1: a reset first stream hangs all the rest).  The pool
   * does the waiting instead: one request to a host until one to it has
   * come back (fetch_pool.c). */
  if (version == CURL_HTTP_VERSION_2TLS)
    SET(CURLOPT_PIPEWAIT, 1L);

  if (r->headers != NULL)
    SET(CURLOPT_HTTPHEADER, r->headers);
  if (r->user_agent != NULL)
    SET(CURLOPT_USERAGENT, r->user_agent);
  if (r->ca != NULL) {
    struct curl_blob blob;
    blob.data = r->ca;
    blob.len = r->ca_len;
    blob.flags = CURL_BLOB_COPY;
    SET(CURLOPT_CAINFO_BLOB, &blob);
  }
  if (strcmp(r->method, "GET") == 0 && !r->has_body && !r->upload) {
    /* The default. */
  } else if (strcmp(r->method, "HEAD") == 0) {
    SET(CURLOPT_NOBODY, 1L);
  } else if (strcmp(r->method, "POST") == 0) {
    /* POST (not a custom method) so that a 303 turns into a GET. */
    SET(CURLOPT_POST, 1L);
  } else {
    if (r->upload)
      SET(CURLOPT_POST, 1L);  /* A body from the read callback. */
    SET(CURLOPT_CUSTOMREQUEST, r->method);
  }
  if (r->upload) {
    /* Of unknown length: libcurl sends it chunked over HTTP/1.1. */
    SET(CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t) r->o.upload_len);
  } else if (r->has_body) {
    SET(CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t) r->body_len);
    SET(CURLOPT_POSTFIELDS, r->body);  /* Ours until the request is freed. */
  } else if (method_expects_body(r->method)) {
    /* No body: "Content-Length: 0", and nothing read from anywhere. */
    SET(CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t) 0);
    SET(CURLOPT_POSTFIELDS, "");
  }
  return 0;
}

/* A handle last set up for a request with the same profile: only what
 * points into the request changes. */
int uva__freq_setup_same(uva_freq_t *r, CURL *easy) {
  r->errbuf[0] = '\0';
  r->out_errno = 0;
  r->too_large = 0;
  r->got_status = 0;
  r->headers_done = 0;
  r->bad_header = 0;
  r->res.attempts++;
  SET(CURLOPT_URL, r->url);
  SET(CURLOPT_ERRORBUFFER, r->errbuf);
  SET(CURLOPT_WRITEDATA, r);
  SET(CURLOPT_HEADERDATA, r);
  if (r->headers != NULL)
    SET(CURLOPT_HTTPHEADER, r->headers);
  if (r->upload)
    SET(CURLOPT_READDATA, r);  /* Its length is in the profile. */
  if (r->has_body) {
    SET(CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t) r->body_len);
    SET(CURLOPT_POSTFIELDS, r->body);
  }
  return 0;
}

/* ---- Results ----------------------------------------------------------- */

/* CURLE_TOO_LARGE, libcurl >= 8.6; by number, so that older headers build. */
#define UVA_CURLE_TOO_LARGE 100

static const char *error_name(const uva_freq_t *r, CURLcode code, int os) {
  if ((int) code == UVA_CURLE_TOO_LARGE)
    return "EPROTO";  /* Response headers past libcurl's limit (8.x). */
  switch (code) {
    case CURLE_OK:
      return NULL;
    case CURLE_COULDNT_CONNECT:
      if (os == EHOSTUNREACH)
        return "EHOSTUNREACH";
      if (os == ENETUNREACH)
        return "ENETUNREACH";
      if (os == ETIMEDOUT)
        return "ETIMEDOUT";
      return "ECONNREFUSED";
    case CURLE_OPERATION_TIMEDOUT:
      return "ETIMEDOUT";
    case CURLE_COULDNT_RESOLVE_HOST:
    case CURLE_COULDNT_RESOLVE_PROXY:
      return "ENOTFOUND";
    case CURLE_TOO_MANY_REDIRECTS:
      return "EMAXREDIRECTS";
    case CURLE_FILESIZE_EXCEEDED:
      return "EBODYTOOLARGE";
    case CURLE_WRITE_ERROR:
      if (r->bad_header)
        return "EPROTO";
      if (r->out_errno != 0)
        return "EOUTPUT";
      return r->too_large ? "EBODYTOOLARGE" : "ENOMEM";
    case CURLE_UNSUPPORTED_PROTOCOL:
      /* A redirect to a scheme other than http(s) ("Protocol "ftp" not
       * supported or disabled"); libcurl says the same of a reply that is
       * not HTTP at all or names an HTTP version it does not speak. */
      if (strncmp(r->errbuf, "Protocol ", 9) == 0)
        return "EPROTONOSUPPORT";
      return "EPROTO";
    case CURLE_URL_MALFORMAT:
      /* The caller's URL was checked before; after a response, this is a
       * Location the server sent that is not a URL. */
      return r->got_status ? "EPROTO" : "ERR_INVALID_URL";
    case CURLE_BAD_FUNCTION_ARGUMENT:
      /* During a transfer: libcurl's word for some malformed responses (a
       * first header line that is folded, in 8.x a bad header block). */
      return "EPROTO";
    case CURLE_RECV_ERROR:
      /* The same limit in libcurl 7.x. */
      if (strstr(r->errbuf, "Too large response headers") != NULL)
        return "EPROTO";
      return "ECONNRESET";
    case CURLE_SEND_ERROR:
    case CURLE_SEND_FAIL_REWIND:  /* A fed body cannot be sent again. */
    case CURLE_PARTIAL_FILE:
    case CURLE_GOT_NOTHING:
    case CURLE_HTTP2:
    case CURLE_HTTP2_STREAM:
      return "ECONNRESET";
    case CURLE_WEIRD_SERVER_REPLY:
    case CURLE_BAD_CONTENT_ENCODING:
      return "EPROTO";
    case CURLE_OUT_OF_MEMORY:
      /* libcurl 7.x says this, with no message, of response headers past
       * its limit (its header buffer refuses to grow): a response whose
       * header block never ended is the server's, not our memory. */
      return r->headers_done ? "ENOMEM" : "EPROTO";
    case CURLE_PEER_FAILED_VERIFICATION:
    case CURLE_SSL_CONNECT_ERROR:
    case CURLE_SSL_CERTPROBLEM:
    case CURLE_SSL_CIPHER:
    case CURLE_SSL_CACERT_BADFILE:
      return "ETLS";
    default:
      return "EFETCH";
  }
}

/* dns, connect, tls: each phase's own time; firstByte, total: from the
 * start of the attempt. */
static void read_timings(CURL *e, double out[5]) {
  curl_off_t t[5] = {0, 0, 0, 0, 0};
  if (e != NULL) {
    curl_easy_getinfo(e, CURLINFO_NAMELOOKUP_TIME_T, &t[0]);
    curl_easy_getinfo(e, CURLINFO_CONNECT_TIME_T, &t[1]);
    curl_easy_getinfo(e, CURLINFO_APPCONNECT_TIME_T, &t[2]);
    curl_easy_getinfo(e, CURLINFO_STARTTRANSFER_TIME_T, &t[3]);
    curl_easy_getinfo(e, CURLINFO_TOTAL_TIME_T, &t[4]);
  }
  out[0] = (double) t[0] / 1000.0;
  out[1] = t[1] > t[0] ? (double) (t[1] - t[0]) / 1000.0 : 0;
  out[2] = t[2] > t[1] ? (double) (t[2] - t[1]) / 1000.0 : 0;
  out[3] = (double) t[3] / 1000.0;
  out[4] = (double) t[4] / 1000.0;
}

void uva_freq_timings(const uva_freq_t *r, double timings[5]) {
  read_timings(r->easy, timings);
}

void uva__freq_collect(uva_freq_t *r, CURLcode code) {
  CURL *e = r->easy;
  long status = 0;
  long version = 0;
  long redirects = 0;
  long os = 0;
  char *url = NULL;

  r->res.curl_code = (int) code;
  if (e != NULL) {
    curl_easy_getinfo(e, CURLINFO_RESPONSE_CODE, &status);
    curl_easy_getinfo(e, CURLINFO_HTTP_VERSION, &version);
    curl_easy_getinfo(e, CURLINFO_REDIRECT_COUNT, &redirects);
    curl_easy_getinfo(e, CURLINFO_OS_ERRNO, &os);
    if (redirects > 0)
      curl_easy_getinfo(e, CURLINFO_EFFECTIVE_URL, &url);
  }
  r->res.os_errno = (int) os;
  r->res.error = error_name(r, code, (int) os);
  r->res.message = r->errbuf[0] != '\0' ? r->errbuf : curl_easy_strerror(code);
  if (code == CURLE_OK && (!r->got_status || !r->headers_done)) {
    /* libcurl took a header block that never ended for a response (7.88:
     * a line starting with a NUL ends its parsing; empty body, "200"). */
    r->res.error = "EPROTO";
    r->res.message = "The response's header block never ended";
  } else if (code == CURLE_OK) {
    r->res.message = "";
  } else if (code == CURLE_OUT_OF_MEMORY && !r->headers_done &&
             r->errbuf[0] == '\0') {
    r->res.message = "Too large response headers";
  } else if (code == CURLE_WRITE_ERROR && r->bad_header) {
    r->res.message = "A response header line holds a NUL byte";
  }
  if (r->output != NULL) {
    /* The file is complete (and exists, for an empty body) before the
     * result is: a reader that opens it after the promise settles sees it
     * whole.  A failed attempt leaves what it wrote, as curl -o does. */
    if (r->res.error == NULL && (open_out(r) != 0 || close_out(r) != 0))
      r->res.error = "EOUTPUT";
    else
      close_out(r);
    if (r->res.error != NULL && strcmp(r->res.error, "EOUTPUT") == 0) {
      snprintf(r->errbuf, sizeof(r->errbuf), "Cannot write the body to %s: %s",
               r->output, strerror(r->out_errno));
      r->res.message = r->errbuf;
    }
  }
  r->res.status = r->res.error == NULL ? (int) status : 0;
  switch (version) {
    case CURL_HTTP_VERSION_1_0: r->res.http_version = 10; break;
    case CURL_HTTP_VERSION_1_1: r->res.http_version = 11; break;
    case CURL_HTTP_VERSION_2_0: r->res.http_version = 20; break;
#ifdef CURL_HTTP_VERSION_3
    case CURL_HTTP_VERSION_3: r->res.http_version = 30; break;
#endif
    default: r->res.http_version = 0;
  }
  r->res.redirects = (int) redirects;
  free((char *) r->res.url);
  r->res.url = url != NULL ? strdup(url) : NULL;
  read_timings(e, r->res.timings);
  r->res.duration = (double) (uv_hrtime() - r->start_ns) / 1e6;
  if (r->res.error != NULL) {
    /* A failed attempt keeps no partial body or headers. */
    r->res.body_len = 0;
    r->res.headers_len = 0;
  }
}

void uva__freq_reset_response(uva_freq_t *r) {
  r->res.status = 0;
  r->res.error = NULL;
  r->res.body_len = 0;
  r->res.headers_len = 0;
  r->content_length = -1;
}

/* ---- Retry rule --------------------------------------------------------- */

/* Retry-After in ms: delta seconds or an HTTP date; -1 if absent. */
static double retry_after_ms(const uva_freq_t *r) {
  const char *p = r->res.headers;
  const char *end = p + r->res.headers_len;
  while (p < end) {
    const char *name = p;
    const char *value = name + strlen(name) + 1;
    p = value + strlen(value) + 1;
    if (strcmp(name, "retry-after") != 0)
      continue;
    if (*value >= '0' && *value <= '9') {
      char *e;
      double s = strtod(value, &e);
      return s * 1000.0;
    } else {
      time_t at = curl_getdate(value, NULL);
      time_t now = time(NULL);
      if (at == -1)
        return -1;
      return at > now ? (double) (at - now) * 1000.0 : 0;
    }
  }
  return -1;
}

/* Whether a failure's stable code says the host was not reached (or not in
 * time): refused, timed out, not resolved, unreachable. */
int uva__freq_unreachable(const char *name) {
  static const char *const codes[] = {"ECONNREFUSED", "ETIMEDOUT", "ENOTFOUND",
                                      "EHOSTUNREACH", "ENETUNREACH"};
  size_t i;
  for (i = 0; i < sizeof(codes) / sizeof(codes[0]); i++)
    if (strcmp(name, codes[i]) == 0)
      return 1;
  return 0;
}

/* Network failures worth another attempt: the host was not reached, or the
 * connection was reset. */
static int retryable_error(const char *name) {
  return uva__freq_unreachable(name) || strcmp(name, "ECONNRESET") == 0;
}

int uva__freq_should_retry(const uva_freq_t *r, uint32_t retries,
                           double max_retry_after, double *ra) {
  int s = r->res.status;

  *ra = -1;
  /* A streamed response is its reader's already: never another attempt. */
  if (r->cancelled || r->streaming || r->res.attempts > retries)
    return 0;
  if (!r->idempotent && !r->o.retry_any_method)
    return 0;
  if (r->res.error != NULL)
    return retryable_error(r->res.error);
  if (s != 408 && s != 429 && s != 500 && s != 502 && s != 503 && s != 504)
    return 0;
  *ra = retry_after_ms(r);
  if (*ra > max_retry_after)
    return 0;  /* The server asks for longer than we are willing to wait. */
  return 1;
}
