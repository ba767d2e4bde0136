/* fetch_req.c: one request: what it is made of, and its easy-handle
 * options.  Its response's callbacks are in fetch_recv.c, a fed request
 * body's in fetch_upload.c, its result and retry rule in fetch_result.c. */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
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
  nums[3] = o->stream;  /* Whether CURLOPT_MAXFILESIZE is set, and BUFFERSIZE. */
  nums[4] = o->upload ? o->upload_len : 0;
  ints[0] = o->max_redirects;
  ints[1] = o->decompress;
  ints[2] = o->http2;
  ints[3] = r->has_body + 2 * r->upload;
  ints[4] = tls + 2 * (r->output != NULL);  /* output: CURLOPT_BUFFERSIZE. */
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
  size_t used = (r->res.body_len + UVA__CHUNK_PAGE - 1) & ~(size_t) (UVA__CHUNK_PAGE - 1);
  *len = r->res.body_len;
  *map = r->body_map;
  /* A streamed body's chunks count as they go (its pool counts the rest
   * at the end, when r->pool is already NULL here). */
  if (r->streaming && r->pool != NULL)
    r->pool->stats.bytes += r->res.body_len;
  r->res.body_len = 0;
  if (r->body_map != 0 && used < r->body_cap) {
    /* The next chunk is cut from the rest of the mapping, from a page
     * boundary (uva__chunk_ready's madvise takes no less); this one holds
     * a reference of its own. */
    uva__cmap_ref((uva__cmap_t *) (uintptr_t) r->body_map);
    r->res.body += used;
    r->body_cap -= used;
    r->body_ready = r->body_ready > used ? r->body_ready - used : 0;
    return b;
  }
  /* The whole of it: the request's reference goes with the chunk. */
  r->res.body = NULL;
  r->body_cap = 0;
  r->body_map = 0;
  r->body_ready = 0;
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

int uva_freq_head_taken(const uva_freq_t *r) {
  return r->head_taken;
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

#ifndef UVA_OUTPUT_BUFFER
#define UVA_OUTPUT_BUFFER (512L * 1024)
#endif
#ifndef UVA_STREAM_BUFFER
#define UVA_STREAM_BUFFER (256L * 1024)
#endif

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
  SET(CURLOPT_WRITEFUNCTION, uva__freq_on_body);
  SET(CURLOPT_WRITEDATA, r);
  SET(CURLOPT_HEADERFUNCTION, uva__freq_on_header);
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
   * streamed after all (a 3xx, a retried status) is bounded in uva__freq_on_body. */
  if (o->max_body > 0 && !o->stream)
    SET(CURLOPT_MAXFILESIZE_LARGE, (curl_off_t) o->max_body);
  /* A body that goes to a file: fewer, larger reads and writes (512 KiB:
   * within libcurl's limit on every version, 512 KiB before 7.88.0 and
   * 10 MB since; 0.41 -> 0.27 ms of CPU a MiB, bench/RESULTS.md). */
  if (r->output != NULL)
    SET(CURLOPT_BUFFERSIZE, UVA_OUTPUT_BUFFER);
  /* A streamed body (fetch()'s Response): 256 KiB reads, not 16 KiB, for
   * the same reason.  A large body through res.body into a file: 1.77 ->
   * 1.15 ms of CPU a MiB (Node's fetch: 2.5-2.6); 64 KiB 1.44, 128 KiB
   * 1.25-1.26, 512 KiB 1.16 (4 runs each, alternated, libcurl 8.14, an AMD
   * VM).  A turn still takes at most UVA_FETCH_TURN_BYTES. */
  else if (o->stream)
    SET(CURLOPT_BUFFERSIZE, UVA_STREAM_BUFFER);

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
