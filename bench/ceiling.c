/* ceiling.c: the native ceiling for bench/fetch.mjs: a minimal libcurl
 * multi client.  Keeps `concurrency` transfers in flight until `total` are
 * done, reusing easy handles and connections, copying each body into a
 * buffer as uvasync does, driven by curl_multi_poll.  Prints
 * {"wallMs":..,"cpuUs":..,"ok":..} for the run after a warm-up.
 *
 * With a fifth argument `options`, every handle also gets the libcurl
 * options uvasync sets for a default GET (a header callback, Accept-Encoding,
 * redirects, allowed protocols, timeouts, a body cap, HTTP/2 where offered, a
 * User-Agent) and each finished transfer is asked for the same details
 * (status, version, redirects, errno, the five timings): what those features
 * cost libcurl itself, without anything of uvasync's own.
 *
 *   cc -O2 -o ceiling ceiling.c -lcurl && ./ceiling URL CONCURRENCY TOTAL WARMUP [options]
 */
#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

typedef struct {
  char *buf;
  size_t len;
  size_t cap;
} body_t;

static size_t on_body(char *data, size_t size, size_t n, void *arg) {
  body_t *b = arg;
  size_t add = size * n;
  if (b->len + add > b->cap) {
    size_t cap = b->cap ? b->cap : 256;
    while (cap < b->len + add)
      cap *= 2;
    b->buf = realloc(b->buf, cap);
    b->cap = cap;
  }
  memcpy(b->buf + b->len, data, add);
  b->len += add;
  return add;
}

/* A header callback as cheap as one can be: what libcurl costs to call it. */
static size_t on_header(char *data, size_t size, size_t n, void *arg) {
  (void) data;
  (void) arg;
  return size * n;
}

static void set_options(CURL *e) {
  curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, on_header);
  curl_easy_setopt(e, CURLOPT_HEADERDATA, NULL);
  curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(e, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(e, CURLOPT_FOLLOWLOCATION, 1L);
  curl_easy_setopt(e, CURLOPT_MAXREDIRS, 5L);
  curl_easy_setopt(e, CURLOPT_ACCEPT_ENCODING, "");
  curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, 30000L);
  curl_easy_setopt(e, CURLOPT_MAXFILESIZE_LARGE, (curl_off_t) 64 << 20);
  curl_easy_setopt(e, CURLOPT_HTTP_VERSION, (long) CURL_HTTP_VERSION_1_1);
  curl_easy_setopt(e, CURLOPT_USERAGENT, "uvasync/0.1.0");
}

static void get_details(CURL *e) {
  long v[4];
  curl_off_t t[5];
  curl_easy_getinfo(e, CURLINFO_HTTP_VERSION, &v[0]);
  curl_easy_getinfo(e, CURLINFO_REDIRECT_COUNT, &v[1]);
  curl_easy_getinfo(e, CURLINFO_OS_ERRNO, &v[2]);
  curl_easy_getinfo(e, CURLINFO_NAMELOOKUP_TIME_T, &t[0]);
  curl_easy_getinfo(e, CURLINFO_CONNECT_TIME_T, &t[1]);
  curl_easy_getinfo(e, CURLINFO_APPCONNECT_TIME_T, &t[2]);
  curl_easy_getinfo(e, CURLINFO_STARTTRANSFER_TIME_T, &t[3]);
  curl_easy_getinfo(e, CURLINFO_TOTAL_TIME_T, &t[4]);
}

static int with_options;

static double now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static double cpu_us(void) {
  struct rusage u;
  getrusage(RUSAGE_SELF, &u);
  return (u.ru_utime.tv_sec + u.ru_stime.tv_sec) * 1e6 + u.ru_utime.tv_usec + u.ru_stime.tv_usec;
}

static long run(CURLM *m, CURL **easy, body_t *bodies, const char *url, int conc, long total) {
  long started = 0, done = 0, ok = 0;
  int running = 0, i;
  for (i = 0; i < conc && started < total; i++, started++) {
    bodies[i].len = 0;
    curl_multi_add_handle(m, easy[i]);
  }
  while (done < total) {
    CURLMsg *msg;
    int left;
    curl_multi_perform(m, &running);
    while ((msg = curl_multi_info_read(m, &left)) != NULL) {
      long idx;
      long status = 0;
      if (msg->msg != CURLMSG_DONE)
        continue;
      curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, (char **) &idx);
      curl_easy_getinfo(msg->easy_handle, CURLINFO_RESPONSE_CODE, &status);
      if (with_options)
        get_details(msg->easy_handle);
      if (msg->data.result == CURLE_OK && status == 200)
        ok++;
      curl_multi_remove_handle(m, msg->easy_handle);
      done++;
      if (started < total) {
        started++;
        bodies[idx].len = 0;
        curl_multi_add_handle(m, msg->easy_handle);
      }
    }
    if (done < total)
      curl_multi_poll(m, NULL, 0, 1000, NULL);
  }
  (void) url;
  return ok;
}

int main(int argc, char **argv) {
  const char *url;
  int conc, i;
  long total, warmup, ok;
  CURLM *m;
  CURL **easy;
  body_t *bodies;
  double t0, c0;

  if (argc < 5) {
    fprintf(stderr, "usage: ceiling URL CONCURRENCY TOTAL WARMUP [options]\n");
    return 2;
  }
  url = argv[1];
  conc = atoi(argv[2]);
  total = atol(argv[3]);
  warmup = atol(argv[4]);
  with_options = argc > 5 && strcmp(argv[5], "options") == 0;
  curl_global_init(CURL_GLOBAL_DEFAULT);
  m = curl_multi_init();
  easy = calloc(conc, sizeof(*easy));
  bodies = calloc(conc, sizeof(*bodies));
  for (i = 0; i < conc; i++) {
    easy[i] = curl_easy_init();
    curl_easy_setopt(easy[i], CURLOPT_URL, url);
    curl_easy_setopt(easy[i], CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(easy[i], CURLOPT_WRITEDATA, &bodies[i]);
    curl_easy_setopt(easy[i], CURLOPT_PRIVATE, (char *) (long) i);
    curl_easy_setopt(easy[i], CURLOPT_NOSIGNAL, 1L);
    if (with_options)
      set_options(easy[i]);
  }
  run(m, easy, bodies, url, conc, warmup);
  t0 = now_ms();
  c0 = cpu_us();
  ok = run(m, easy, bodies, url, conc, total);
  printf("{\"wallMs\":%.3f,\"cpuUs\":%.1f,\"ok\":%ld}\n", now_ms() - t0, cpu_us() - c0, ok);
  return ok == total ? 0 : 1;
}
