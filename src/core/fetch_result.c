/* fetch_result.c: what one attempt of a request came to: its result
 * copied out before its easy handle goes (status, stable error code,
 * timings), and the rule for retrying it. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "fetch_internal.h"

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
    if (r->res.error == NULL && (uva__freq_open_out(r) != 0 || uva__freq_close_out(r) != 0))
      r->res.error = "EOUTPUT";
    else
      uva__freq_close_out(r);
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
