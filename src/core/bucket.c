/* bucket.c: a token bucket with a FIFO of waiters.
 *
 * Tokens are refilled from uv_hrtime() on every call, so the rate holds
 * exactly over any span.  While someone waits, one core-owned timer is
 * armed for the moment the first waiter's tokens will be there; it serves
 * every waiter that fits and hands them to the callback in one batch.
 */
#include <math.h>
#include <stdlib.h>

#include "internal.h"

static void bucket_refill(uva_bucket_t *b, uint64_t now) {
  if (now > b->last_ns) {
    b->tokens += (double) (now - b->last_ns) * b->rate / 1e9;
    if (b->tokens > b->capacity)
      b->tokens = b->capacity;
  }
  b->last_ns = now;
}

static void bucket_on_timer(void *arg);

static void bucket_arm(uva_bucket_t *b) {
  uint32_t id;
  uva__wnode_t *w;
  double ms;

  if (b->timer_id >= 0) {
    uva_timers_clear(b->timers, (uint32_t) b->timer_id);
    b->timer_id = -1;
  }
  w = uva__waitq_head(&b->waiters, &id);
  if (w == NULL)
    return;
  ms = (w->amount - b->tokens) / b->rate * 1000.0;
  if (ms < 0)
    ms = 0;
  b->timer_id = uva_timers_start_fn(b->timers, ms, bucket_on_timer, b);
}

static int bucket_grow_grants(uva_bucket_t *b) {
  uint32_t cap = b->grant_cap ? b->grant_cap * 2 : 16;
  uint32_t *ids = realloc(b->grant_ids, cap * sizeof(*ids));
  double *waited;
  if (ids == NULL)
    return UV_ENOMEM;
  b->grant_ids = ids;
  waited = realloc(b->grant_waited, cap * sizeof(*waited));
  if (waited == NULL)
    return UV_ENOMEM;
  b->grant_waited = waited;
  b->grant_cap = cap;
  return 0;
}

static void bucket_on_timer(void *arg) {
  uva_bucket_t *b = arg;
  uint64_t now = uv_hrtime();
  size_t n = 0;
  uint32_t id;
  uva__wnode_t *w;

  b->timer_id = -1;
  bucket_refill(b, now);
  /* A tiny shortfall is rounding of the timer, not a reason to wait. */
  while ((w = uva__waitq_head(&b->waiters, &id)) != NULL &&
         b->tokens + 1e-9 >= w->amount) {
    if (n == b->grant_cap && bucket_grow_grants(b) != 0)
      break;
    b->tokens -= w->amount;
    if (b->tokens < 0)
      b->tokens = 0;
    b->grant_ids[n] = id;
    b->grant_waited[n] = (double) (now - w->since) / 1e6;
    n++;
    uva__waitq_pop(&b->waiters);
  }
  bucket_arm(b);
  if (n > 0)
    b->cb(b, b->grant_ids, b->grant_waited, n);
}

int uva_bucket_init(uva_bucket_t *b, uva_timers_t *timers, double rate,
                    double capacity, uva_bucket_cb cb) {
  if (!(rate > 0) || !(capacity > 0) || isinf(rate) || isinf(capacity))
    return UV_EINVAL;
  b->rate = rate;
  b->capacity = capacity;
  b->tokens = capacity;
  b->last_ns = uv_hrtime();
  b->timers = timers;
  b->timer_id = -1;
  b->cb = cb;
  b->grant_ids = NULL;
  b->grant_waited = NULL;
  b->grant_cap = 0;
  uva__waitq_init(&b->waiters);
  return 0;
}

void uva_bucket_free(uva_bucket_t *b) {
  if (b->timer_id >= 0 && !b->timers->closing)
    uva_timers_clear(b->timers, (uint32_t) b->timer_id);
  b->timer_id = -1;
  uva__waitq_free(&b->waiters);
  free(b->grant_ids);
  free(b->grant_waited);
  b->grant_ids = NULL;
  b->grant_waited = NULL;
}

int uva_bucket_acquire(uva_bucket_t *b, double tokens, uint32_t *id) {
  int64_t r;
  uint64_t now;

  if (!(tokens >= 0) || tokens > b->capacity)
    return UV_EINVAL;
  now = uv_hrtime();
  bucket_refill(b, now);
  if (b->waiters.len == 0 && b->tokens >= tokens) {
    b->tokens -= tokens;
    return UVA_NOW;
  }
  r = uva__waitq_push(&b->waiters, tokens, now);
  if (r < 0)
    return (int) r;
  *id = (uint32_t) r;
  if (b->waiters.len == 1)
    bucket_arm(b);
  return UVA_WAIT;
}

int uva_bucket_try(uva_bucket_t *b, double tokens) {
  if (!(tokens >= 0) || tokens > b->capacity || b->waiters.len > 0)
    return 0;
  bucket_refill(b, uv_hrtime());
  if (b->tokens < tokens)
    return 0;
  b->tokens -= tokens;
  return 1;
}

double uva_bucket_available(uva_bucket_t *b) {
  bucket_refill(b, uv_hrtime());
  return b->tokens;
}

uint32_t uva_bucket_pending(const uva_bucket_t *b) {
  return b->waiters.len;
}

int uva_bucket_cancel(uva_bucket_t *b, uint32_t id) {
  uint32_t head;
  int was_head = uva__waitq_head(&b->waiters, &head) != NULL && head == id;
  if (!uva__waitq_remove(&b->waiters, id))
    return 0;
  /* The next waiter may need less, or nothing may wait any more. */
  if (was_head) {
    bucket_refill(b, uv_hrtime());
    bucket_arm(b);
  }
  return 1;
}

int uva_bucket_drop(uva_bucket_t *b, uint32_t *id) {
  if (b->waiters.len == 0)
    return 0;
  *id = uva__waitq_pop(&b->waiters);
  if (b->waiters.len == 0)
    bucket_arm(b);
  return 1;
}
