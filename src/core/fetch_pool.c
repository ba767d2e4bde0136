/* fetch_pool.c: the limits requests are scheduled through.
 *
 * A pool starts the next queued request the moment a slot frees up, with
 * no JavaScript in between: concurrency, a per-host cap (the first queued
 * request whose host has room goes, so one busy host does not block the
 * others), and a token bucket for per_second.  A finished attempt that may
 * be retried waits in the pool (Retry-After, else exponential backoff with
 * jitter) and goes back to the front of the queue when due.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "fetch_internal.h"

/* ---- Lists ------------------------------------------------------------- */

void uva__flist_push(uva__flist_t *l, uva_freq_t *r) {
  r->next = NULL;
  r->prev = l->tail;
  if (l->tail != NULL)
    l->tail->next = r;
  else
    l->head = r;
  l->tail = r;
  l->len++;
}

void uva__flist_unshift(uva__flist_t *l, uva_freq_t *r) {
  r->prev = NULL;
  r->next = l->head;
  if (l->head != NULL)
    l->head->prev = r;
  else
    l->tail = r;
  l->head = r;
  l->len++;
}

void uva__flist_remove(uva__flist_t *l, uva_freq_t *r) {
  if (r->prev != NULL)
    r->prev->next = r->next;
  else
    l->head = r->next;
  if (r->next != NULL)
    r->next->prev = r->prev;
  else
    l->tail = r->prev;
  r->prev = r->next = NULL;
  l->len--;
}

/* ---- Pool -------------------------------------------------------------- */

int uva_fpool_new(uva_fetch_t *f, const uva_fpool_opts_t *opts,
                  uva_fpool_t **out) {
  uva_fpool_t *p = calloc(1, sizeof(*p));
  if (p == NULL)
    return UV_ENOMEM;
  p->f = f;
  p->o = *opts;
  if (p->o.per_second > 0 && isfinite(p->o.per_second)) {
    p->capacity = floor(p->o.per_second);
    if (p->capacity < 1)
      p->capacity = 1;
    p->tokens = p->capacity;
    p->last_ns = uv_hrtime();
  } else {
    p->o.per_second = 0;
  }
  p->next = f->pools;
  if (f->pools != NULL)
    f->pools->prev = p;
  f->pools = p;
  *out = p;
  return 0;
}

/* Keeps p on f->busy exactly while it has requests queued or waiting, so
 * that pumping and wake-ups visit only those: a program may hold thousands
 * of idle fetchers (10,000 made every request 4x dearer when the sweeps
 * walked them all). */
static void busy_set(uva_fpool_t *p, int want) {
  uva_fetch_t *f = p->f;

  if (want == p->busy)
    return;
  if (want) {
    p->busy_prev = NULL;
    p->busy_next = f->busy;
    if (f->busy != NULL)
      f->busy->busy_prev = p;
    f->busy = p;
  } else {
    if (p->busy_prev != NULL)
      p->busy_prev->busy_next = p->busy_next;
    else
      f->busy = p->busy_next;
    if (p->busy_next != NULL)
      p->busy_next->busy_prev = p->busy_prev;
    p->busy_prev = p->busy_next = NULL;
  }
  p->busy = want;
}

/* Called after every change to the queue or the waiting list. */
void uva__fpool_track(uva_fpool_t *p) {
  busy_set(p, p->queue.len > 0 || p->waiting.len > 0);
}

/* active and queued are the lists' lengths; the rest are counters. */
void uva_fpool_stats(const uva_fpool_t *p, uva_fpool_stats_t *out) {
  *out = p->stats;
  out->active = p->running.len;
  out->queued = p->queue.len + p->waiting.len;
}

static int pool_idle(const uva_fpool_t *p) {
  return p->running.len == 0 && p->queue.len == 0 && p->waiting.len == 0;
}

/* Frees a closing pool whose last request has gone; 1 if freed. */
int uva__fpool_free_if_done(uva_fpool_t *p) {
  if (!p->closing || p->pumping || !pool_idle(p))
    return 0;
  uva__fpool_free(p);
  return 1;
}

/* Whether an h2c request's outcome opens its host's gate: a response (its
 * connection multiplexes; the rest join it), or a failure to reach the host
 * at all (waiting on one at a time would only serialize the rest).  A reset
 * stream keeps the gate: the next request, alone, makes the connection the
 * rest will share. */
static int h2c_opens_gate(const uva_freq_t *r) {
  return !r->cancelled &&
         (r->res.error == NULL || uva__freq_unreachable(r->res.error));
}

/* A running request leaves the pool's running list and its host's count. */
void uva__fpool_unrun(uva_fpool_t *p, uva_freq_t *r) {
  uva__flist_remove(&p->running, r);
  if (r->fhost != NULL) {
    r->fhost->active--;
    if (r->h2c && h2c_opens_gate(r))
      r->fhost->h2c_ready = 1;
    r->fhost = NULL;
  }
}

void uva__fpool_free(uva_fpool_t *p) {
  uint32_t i;

  busy_set(p, 0);
  if (p->prev != NULL)
    p->prev->next = p->next;
  else
    p->f->pools = p->next;
  if (p->next != NULL)
    p->next->prev = p->prev;
  for (i = 0; i < p->nhosts; i++)
    free(p->hosts[i].name);
  free(p->hosts);
  free(p);
}

void uva_fpool_close(uva_fpool_t *p) {
  p->closing = 1;
  uva__fpool_free_if_done(p);
}

/* ---- Limits ------------------------------------------------------------ */

static void refill(uva_fpool_t *p, uint64_t now) {
  if (now > p->last_ns) {
    p->tokens += (double) (now - p->last_ns) * p->o.per_second / 1e9;
    if (p->tokens > p->capacity)
      p->tokens = p->capacity;
    p->last_ns = now;
  }
}

static uva__fhost_t *host_get(uva_fpool_t *p, const char *name) {
  uint32_t i;
  for (i = 0; i < p->nhosts; i++)
    if (strcmp(p->hosts[i].name, name) == 0)
      return &p->hosts[i];
  return NULL;
}

static uva__fhost_t *host_add(uva_fpool_t *p, const char *name) {
  uva__fhost_t *h;
  uint32_t i;
  /* Reuse an idle entry before growing: a crawl over many hosts keeps a
   * table the size of its concurrency, not of the hosts it has seen. */
  for (i = 0; i < p->nhosts; i++) {
    if (p->hosts[i].active == 0) {
      char *copy = strdup(name);
      if (copy == NULL)
        return NULL;
      free(p->hosts[i].name);
      p->hosts[i].name = copy;
      p->hosts[i].h2c_ready = 0;
      return &p->hosts[i];
    }
  }
  if (p->nhosts == p->hosts_cap) {
    uint32_t cap = p->hosts_cap ? p->hosts_cap * 2 : 8;
    uva__fhost_t *t = realloc(p->hosts, cap * sizeof(*t));
    if (t == NULL)
      return NULL;
    /* Running requests point into the table: move their pointers. */
    if (t != p->hosts) {
      uva_freq_t *r;
      for (r = p->running.head; r != NULL; r = r->next)
        if (r->fhost != NULL)
          r->fhost = t + (r->fhost - p->hosts);
    }
    p->hosts = t;
    p->hosts_cap = cap;
  }
  h = &p->hosts[p->nhosts];
  h->name = strdup(name);
  if (h->name == NULL)
    return NULL;
  h->active = 0;
  h->h2c_ready = 0;
  p->nhosts++;
  return h;
}

/* Whether a request needs its host's entry: for the per-host cap, or for
 * the h2c gate. */
static int host_tracked(const uva_fpool_t *p, const uva_freq_t *r) {
  return p->o.per_host > 0 || r->h2c;
}

/* The first queued request whose host has room, or NULL.  An h2c request
 * goes alone to a host until one to it has come back (see h2c_opens_gate):
 * the others then multiplex on its connection instead of each opening one. */
static uva_freq_t *pick(uva_fpool_t *p, uva__fhost_t **hostp) {
  uva_freq_t *r;
  uva__fhost_t *h;

  *hostp = NULL;
  for (r = p->queue.head; r != NULL; r = r->next) {
    if (!host_tracked(p, r))
      return r;
    h = host_get(p, r->host);
    if (h == NULL ||
        ((p->o.per_host == 0 || h->active < p->o.per_host) &&
         (!r->h2c || h->h2c_ready || h->active == 0))) {
      *hostp = h;
      return r;
    }
  }
  return NULL;
}

void uva__fpool_pump(uva_fpool_t *p) {
  uva_fetch_t *f = p->f;
  uva_freq_t *r;
  uva__fhost_t *h;
  int wait_token = 0;

  /* A request libcurl refuses to set up finishes inside the loop below; if
   * it was a closing pool's last, the pool is freed after the loop, not
   * under it. */
  p->pumping = 1;
  while (p->queue.len > 0 &&
         (p->o.concurrency == 0 || p->running.len < p->o.concurrency)) {
    r = pick(p, &h);
    if (r == NULL)
      break;
    if (p->o.per_second > 0) {
      refill(p, uv_hrtime());
      /* A tiny shortfall is rounding of the timer, not a reason to wait. */
      if (p->tokens + 1e-9 < 1) {
        wait_token = 1;
        break;
      }
      p->tokens -= 1;
      if (p->tokens < 0)
        p->tokens = 0;
    }
    if (h == NULL && host_tracked(p, r))
      h = host_add(p, r->host);
    uva__flist_remove(&p->queue, r);
    uva__flist_push(&p->running, r);
    r->fhost = h;
    if (h != NULL)
      h->active++;
    uva__fetch_start(f, r);
  }
  p->pumping = 0;
  uva__fpool_track(p);
  uva__fpool_free_if_done(p);  /* p may be gone from here on. */
  if (wait_token)
    uva__fetch_arm_wake(f);
}

/* With now == 0 only reports the pool's next moment into *next_ns (the
 * earliest of a due retry and, when something waits for one, the next
 * token); else it first moves the due retries to the front of the queue. */
void uva__fpool_wake(uva_fpool_t *p, uint64_t now, uint64_t *next_ns) {
  uva_freq_t *r;
  uva_freq_t *next;
  uint64_t t;

  if (now != 0) {
    /* Walk backwards so that retries keep their order at the front. */
    for (r = p->waiting.tail; r != NULL; r = next) {
      next = r->prev;
      if (r->due_ns <= now) {
        uva__flist_remove(&p->waiting, r);
        r->state = UVA__FREQ_QUEUED;
        uva__flist_unshift(&p->queue, r);
      }
    }
    return;
  }
  for (r = p->waiting.head; r != NULL; r = r->next)
    if (*next_ns == 0 || r->due_ns < *next_ns)
      *next_ns = r->due_ns;
  /* A moment for the next token only when a token is what the queue waits
   * for.  With a token at hand, what holds the queue is the concurrency or
   * the per-host cap, and a finishing transfer pumps it again: reporting
   * "now" here would re-arm a 0 ms wake forever and starve the loop. */
  if (p->o.per_second > 0 && p->queue.len > 0 &&
      (p->o.concurrency == 0 || p->running.len < p->o.concurrency)) {
    uint64_t n = uv_hrtime();
    uva__fhost_t *h;
    refill(p, n);
    if (p->tokens + 1e-9 < 1) /* The same shortfall that makes pump wait. */
      t = n + (uint64_t) ceil((1 - p->tokens) / p->o.per_second * 1e9);
    else
      /* The token came since pump looked (a preempted process takes
       * milliseconds between two clock reads): if a request can go, that
       * is now.  Reporting nothing left the queue with no wake-up at all,
       * for good (seen under CPU load: 29 queued, none running, no timer). */
      t = pick(p, &h) != NULL ? n : 0;
    if (t != 0 && (*next_ns == 0 || t < *next_ns))
      *next_ns = t;
  }
}

/* A uniform number in [0, 1) for the jitter (xorshift64*, seeded from the
 * clock; it only spreads retries, it guards no secret). */
static double jitter_rnd(void) {
  static uint64_t x;
  if (x == 0)
    x = uv_hrtime() | 1;
  x ^= x >> 12;
  x ^= x << 25;
  x ^= x >> 27;
  return (double) ((x * 0x2545F4914F6CDD1DULL) >> 11) / 9007199254740992.0;
}

/* An attempt ended: retry it later, or count it as done. */
void uva__fpool_done(uva_fpool_t *p, uva_freq_t *r) {
  uint32_t retries;
  double retry_after = -1;

  uva__fpool_unrun(p, r);
  p->stats.bytes += r->res.body_len;
  retries = r->o.retries >= 0 ? (uint32_t) r->o.retries : p->o.retries;
  if (!p->f->closing &&
      uva__freq_should_retry(r, retries, p->o.max_retry_after, &retry_after)) {
    uva_backoff_t b;
    double ms;
    b.data = NULL;
    b.kind = UVA_BACKOFF_EXPONENTIAL;
    b.delay = p->o.retry_delay;
    b.factor = 2;
    b.max_delay = p->o.retry_max_delay;
    b.jitter = 0.5;
    ms = retry_after >= 0 ? retry_after
                          : uva_backoff_wait(&b, r->res.attempts,
                                             jitter_rnd());
    uva__freq_reset_response(r);
    r->due_ns = uv_hrtime() + (uint64_t) (ms * 1e6);
    r->state = UVA__FREQ_WAITING;
    uva__flist_push(&p->waiting, r);
    uva__fpool_track(p);
    return;
  }
  if (r->res.error != NULL)
    p->stats.failed++;
  else
    p->stats.done++;
  uva__fpool_free_if_done(p);
}
