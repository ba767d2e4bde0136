/* wpool.c: one task queue shared by the workers of a pool (uva.h).
 *
 * Everything shared sits under one mutex: the queue, the idle workers,
 * the results for the main loop and the slots.  Wake-ups (uv_async_send)
 * are sent while it is held, and a handle leaves the lists under it before
 * it is closed, so nobody wakes a handle that is going away.  A worker that
 * finishes a task takes the next one in the same call (uva_wworker_done):
 * while there is work, workers never wait for a wake-up, and the main loop
 * gets one wake-up for every batch of results.
 *
 * Slots: the main side reserves one per worker it starts (RESERVED); the
 * worker attaches to it (ATTACHED); a worker that detaches leaves it DEAD
 * with the id of the task it was running, for the main side to reap.  Each
 * slot that is not FREE holds a reference on the pool's memory, and so
 * does the main side until its async handle has closed. */
#include <stdlib.h>
#include <string.h>

#include "wpool.h"

enum { SLOT_FREE = 0, SLOT_RESERVED, SLOT_ATTACHED, SLOT_DEAD };

typedef struct wtask_s {
  uint64_t id;
  uint8_t *data;
  size_t len;
  struct wtask_s *next;
} wtask_t;

struct uva_wworker_s {
  void *data;
  uva_wpool_t *pool;
  uv_async_t async;
  uva_wworker_cb cb;
  void (*close_cb)(void *data);
  int slot;
  uint64_t current;      /* The task it runs; 0. */
  wtask_t *handed;       /* Given by push while idle, not yet picked up. */
  uva_wworker_t *idle_next;
  int idle;
};

struct uva_wpool_s {
  void *data;
  uv_mutex_t lock;
  uv_async_t async;
  uva_wpool_cb cb;
  int open;
  int refs;
  wtask_t *qhead;
  wtask_t *qtail;
  size_t queued;
  size_t running;
  uva_wresult_t *results;
  size_t nresults;
  size_t rcap;
  int woken;
  void (*close_cb)(void *data);
  uva_wworker_t *idle;
  int *state;
  uva_wworker_t **worker;
  uint64_t *dead_id;
  int nslots;
};

static void pool_free(uva_wpool_t *p) {
  wtask_t *t;
  size_t i;
  while ((t = p->qhead) != NULL) {
    p->qhead = t->next;
    free(t->data);
    free(t);
  }
  for (i = 0; i < p->nresults; i++)
    free(p->results[i].data);
  free(p->results);
  free(p->state);
  free(p->worker);
  free(p->dead_id);
  uv_mutex_destroy(&p->lock);
  free(p);
}

/* Drops `n` references (the lock held); whether the pool is to be freed. */
static int pool_drop(uva_wpool_t *p, int n) {
  p->refs -= n;
  return p->refs == 0;
}

static void idle_remove(uva_wpool_t *p, uva_wworker_t *w) {
  uva_wworker_t **pp;
  if (!w->idle)
    return;
  for (pp = &p->idle; *pp != NULL; pp = &(*pp)->idle_next) {
    if (*pp == w) {
      *pp = w->idle_next;
      break;
    }
  }
  w->idle = 0;
  w->idle_next = NULL;
}

static void queue_unshift(uva_wpool_t *p, wtask_t *t) {
  t->next = p->qhead;
  p->qhead = t;
  if (p->qtail == NULL)
    p->qtail = t;
  p->queued++;
}

static wtask_t *queue_shift(uva_wpool_t *p) {
  wtask_t *t = p->qhead;
  if (t == NULL)
    return NULL;
  p->qhead = t->next;
  if (p->qhead == NULL)
    p->qtail = NULL;
  p->queued--;
  return t;
}

/* Gives a queued task to an idle worker, if there are both (lock held). */
static void hand_over(uva_wpool_t *p) {
  while (p->idle != NULL && p->qhead != NULL) {
    uva_wworker_t *w = p->idle;
    wtask_t *t = queue_shift(p);
    p->idle = w->idle_next;
    w->idle = 0;
    w->idle_next = NULL;
    w->handed = t;
    w->current = t->id;
    p->running++;
    uv_async_send(&w->async);
  }
}

/* ---- Main side --------------------------------------------------------- */

static void on_results(uv_async_t *a) {
  uva_wpool_t *p = a->data;
  uva_wresult_t *batch;
  size_t n;

  uv_mutex_lock(&p->lock);
  batch = p->results;
  n = p->nresults;
  p->results = NULL;
  p->nresults = 0;
  p->rcap = 0;
  p->woken = 0;
  uv_mutex_unlock(&p->lock);
  if (n > 0)
    p->cb(p, batch, n);
  else
    free(batch);
}

int uva_wpool_new(uv_loop_t *loop, uva_wpool_cb cb, void *data,
                  uva_wpool_t **out) {
  uva_wpool_t *p = calloc(1, sizeof(*p));
  int err;
  if (p == NULL)
    return UV_ENOMEM;
  err = uv_mutex_init(&p->lock);
  if (err != 0) {
    free(p);
    return err;
  }
  err = uv_async_init(loop, &p->async, on_results);
  if (err != 0) {
    uv_mutex_destroy(&p->lock);
    free(p);
    return err;
  }
  p->async.data = p;
  uv_unref((uv_handle_t *) &p->async);
  p->data = data;
  p->cb = cb;
  p->open = 1;
  p->refs = 1;
  *out = p;
  return 0;
}

void *uva_wpool_data(const uva_wpool_t *p) {
  return p->data;
}

int uva_wpool_reserve(uva_wpool_t *p) {
  int i;
  int slot = -1;

  uv_mutex_lock(&p->lock);
  for (i = 0; i < p->nslots; i++) {
    if (p->state[i] == SLOT_FREE) {
      slot = i;
      break;
    }
  }
  if (slot < 0) {
    int n = p->nslots ? p->nslots * 2 : 8;
    int *st = realloc(p->state, n * sizeof(*st));
    uva_wworker_t **wk;
    uint64_t *dead;
    if (st != NULL)
      p->state = st;
    wk = st != NULL ? realloc(p->worker, n * sizeof(*wk)) : NULL;
    if (wk != NULL)
      p->worker = wk;
    dead = wk != NULL ? realloc(p->dead_id, n * sizeof(*dead)) : NULL;
    if (dead == NULL) {
      uv_mutex_unlock(&p->lock);
      return UV_ENOMEM;
    }
    p->dead_id = dead;
    for (i = p->nslots; i < n; i++) {
      p->state[i] = SLOT_FREE;
      p->worker[i] = NULL;
      p->dead_id[i] = 0;
    }
    slot = p->nslots;
    p->nslots = n;
  }
  p->state[slot] = SLOT_RESERVED;
  p->refs++;
  uv_mutex_unlock(&p->lock);
  return slot;
}

/* One allocation holding both parts, one after the other. */
static uint8_t *join(const uva_wbuf_t *a, const uva_wbuf_t *b, size_t *len) {
  size_t n = a->len + (b != NULL ? b->len : 0);
  uint8_t *out = malloc(n ? n : 1);
  if (out == NULL)
    return NULL;
  if (a->len > 0)
    memcpy(out, a->base, a->len);
  if (b != NULL && b->len > 0)
    memcpy(out + a->len, b->base, b->len);
  *len = n;
  return out;
}

int uva_wpool_push(uva_wpool_t *p, uint64_t id, const uva_wbuf_t *head,
                   const uva_wbuf_t *body) {
  wtask_t *t = malloc(sizeof(*t));
  if (t == NULL)
    return UV_ENOMEM;
  t->data = join(head, body, &t->len);
  if (t->data == NULL) {
    free(t);
    return UV_ENOMEM;
  }
  t->id = id;
  t->next = NULL;
  uv_mutex_lock(&p->lock);
  if (!p->open) {
    uv_mutex_unlock(&p->lock);
    free(t->data);
    free(t);
    return UVA_EBADSTATE;
  }
  if (p->qtail != NULL)
    p->qtail->next = t;
  else
    p->qhead = t;
  p->qtail = t;
  p->queued++;
  hand_over(p);
  uv_mutex_unlock(&p->lock);
  return 0;
}

int uva_wpool_cancel(uva_wpool_t *p, uint64_t id) {
  wtask_t **pp;
  wtask_t *prev = NULL;
  int found = 0;

  uv_mutex_lock(&p->lock);
  for (pp = &p->qhead; *pp != NULL; prev = *pp, pp = &(*pp)->next) {
    wtask_t *t = *pp;
    if (t->id != id)
      continue;
    *pp = t->next;
    if (p->qtail == t)
      p->qtail = prev;
    p->queued--;
    free(t->data);
    free(t);
    found = 1;
    break;
  }
  uv_mutex_unlock(&p->lock);
  return found;
}

int uva_wpool_where(uva_wpool_t *p, uint64_t id) {
  int i;
  int slot = -1;
  uv_mutex_lock(&p->lock);
  for (i = 0; i < p->nslots; i++) {
    if (p->state[i] == SLOT_ATTACHED && p->worker[i]->current == id) {
      slot = i;
      break;
    }
  }
  uv_mutex_unlock(&p->lock);
  return slot;
}

uint64_t uva_wpool_reap(uva_wpool_t *p, int slot) {
  uint64_t id = 0;
  int last = 0;

  uv_mutex_lock(&p->lock);
  if (slot >= 0 && slot < p->nslots && p->state[slot] != SLOT_FREE) {
    if (p->state[slot] == SLOT_DEAD) {
      id = p->dead_id[slot];
    } else if (p->state[slot] == SLOT_ATTACHED) {
      /* Gone without detaching (its thread never ran its cleanup): it is
       * forgotten here; its memory stays, nobody touches it again. */
      uva_wworker_t *w = p->worker[slot];
      idle_remove(p, w);
      id = w->current;
      if (w->handed != NULL) {
        queue_unshift(p, w->handed);  /* Never started. */
        w->handed = NULL;
        p->running--;
        id = 0;
      }
      w->pool = NULL;
    }
    if (id != 0)
      p->running--;
    p->state[slot] = SLOT_FREE;
    p->worker[slot] = NULL;
    p->dead_id[slot] = 0;
    last = pool_drop(p, 1);
    hand_over(p);
  }
  uv_mutex_unlock(&p->lock);
  if (last)
    pool_free(p);
  return id;
}

void uva_wpool_counts(uva_wpool_t *p, size_t *queued, size_t *running,
                      size_t *starting) {
  size_t n = 0;
  int i;
  uv_mutex_lock(&p->lock);
  for (i = 0; i < p->nslots; i++)
    n += p->state[i] == SLOT_RESERVED;
  *queued = p->queued;
  *running = p->running;
  *starting = n;
  uv_mutex_unlock(&p->lock);
}

void uva_wpool_ref(uva_wpool_t *p, int ref) {
  if (ref)
    uv_ref((uv_handle_t *) &p->async);
  else
    uv_unref((uv_handle_t *) &p->async);
}

static void on_main_closed(uv_handle_t *h) {
  uva_wpool_t *p = h->data;
  int last;
  if (p->close_cb != NULL)
    p->close_cb(p->data);
  uv_mutex_lock(&p->lock);
  last = pool_drop(p, 1);
  uv_mutex_unlock(&p->lock);
  if (last)
    pool_free(p);
}

void uva_wpool_close(uva_wpool_t *p, void (*close_cb)(void *data)) {
  wtask_t *t;
  int i;
  int drop = 0;

  uv_mutex_lock(&p->lock);
  p->open = 0;
  p->close_cb = close_cb;
  while ((t = queue_shift(p)) != NULL) {
    free(t->data);
    free(t);
  }
  /* Slots nobody will detach from let go now; attached workers let go of
   * theirs when they detach. */
  for (i = 0; i < p->nslots; i++) {
    if (p->state[i] == SLOT_RESERVED || p->state[i] == SLOT_DEAD) {
      p->state[i] = SLOT_FREE;
      drop++;
    }
  }
  pool_drop(p, drop);  /* Never the last: the main side's is still held. */
  uv_mutex_unlock(&p->lock);
  uv_close((uv_handle_t *) &p->async, on_main_closed);
}

/* ---- Worker side ------------------------------------------------------- */

static void on_task(uv_async_t *a) {
  uva_wworker_t *w = a->data;
  uva_wpool_t *p = w->pool;
  wtask_t *t;

  if (p == NULL)
    return;
  uv_mutex_lock(&p->lock);
  t = w->handed;
  w->handed = NULL;
  uv_mutex_unlock(&p->lock);
  if (t == NULL)
    return;
  w->cb(w, t->id, t->data, t->len);
  free(t);
}

int uva_wworker_attach(uintptr_t address, int slot, uv_loop_t *loop,
                       uva_wworker_cb cb, void *data, uva_wworker_t **out) {
  uva_wpool_t *p = (uva_wpool_t *) address;
  uva_wworker_t *w;
  int err;

  if (p == NULL)
    return UV_EINVAL;
  w = calloc(1, sizeof(*w));
  if (w == NULL)
    return UV_ENOMEM;
  uv_mutex_lock(&p->lock);
  if (slot < 0 || slot >= p->nslots || p->state[slot] != SLOT_RESERVED ||
      !p->open) {
    uv_mutex_unlock(&p->lock);
    free(w);
    return UVA_EBADSTATE;
  }
  err = uv_async_init(loop, &w->async, on_task);
  if (err != 0) {
    uv_mutex_unlock(&p->lock);
    free(w);
    return err;
  }
  w->async.data = w;
  w->data = data;
  w->pool = p;
  w->cb = cb;
  w->slot = slot;
  p->state[slot] = SLOT_ATTACHED;
  p->worker[slot] = w;
  uv_mutex_unlock(&p->lock);
  *out = w;
  return 0;
}

void *uva_wworker_data(const uva_wworker_t *w) {
  return w->data;
}

/* The next task or idle (lock held). */
static int take_next(uva_wpool_t *p, uva_wworker_t *w, uint64_t *id,
                     uint8_t **data, size_t *len) {
  wtask_t *t = p->open ? queue_shift(p) : NULL;
  if (t == NULL) {
    if (!w->idle) {
      w->idle = 1;
      w->idle_next = p->idle;
      p->idle = w;
    }
    return 0;
  }
  w->current = t->id;
  p->running++;
  *id = t->id;
  *data = t->data;
  *len = t->len;
  free(t);
  return 1;
}

int uva_wworker_next(uva_wworker_t *w, uint64_t *id, uint8_t **data,
                     size_t *len) {
  uva_wpool_t *p = w->pool;
  int got;
  if (p == NULL)
    return 0;
  uv_mutex_lock(&p->lock);
  got = w->current == 0 && w->handed == NULL ? take_next(p, w, id, data, len)
                                              : 0;
  uv_mutex_unlock(&p->lock);
  return got;
}

int uva_wworker_done(uva_wworker_t *w, uint64_t id, int status,
                     const uva_wbuf_t *head, const uva_wbuf_t *body,
                     uint64_t *next_id, uint8_t **next_data,
                     size_t *next_len) {
  uva_wpool_t *p = w->pool;
  uint8_t *copy;
  size_t len = 0;
  int got;

  if (p == NULL)
    return 0;
  copy = join(head, body, &len);
  if (copy == NULL)
    return UV_ENOMEM;
  uv_mutex_lock(&p->lock);
  if (w->current == id) {
    w->current = 0;
    p->running--;
  }
  if (p->open && p->nresults == p->rcap) {
    size_t n = p->rcap ? p->rcap * 2 : 64;
    uva_wresult_t *r = realloc(p->results, n * sizeof(*r));
    if (r != NULL) {
      p->results = r;
      p->rcap = n;
    }
  }
  if (p->open && p->nresults < p->rcap) {
    uva_wresult_t *r = &p->results[p->nresults++];
    r->id = id;
    r->status = status;
    r->data = copy;
    r->len = len;
    copy = NULL;
    if (!p->woken) {
      p->woken = 1;
      uv_async_send(&p->async);
    }
  }
  got = take_next(p, w, next_id, next_data, next_len);
  uv_mutex_unlock(&p->lock);
  free(copy);
  return got;
}

static void on_worker_closed(uv_handle_t *h) {
  uva_wworker_t *w = h->data;
  if (w->close_cb != NULL)
    w->close_cb(w->data);
  free(w);
}

void uva_wworker_detach(uva_wworker_t *w, void (*close_cb)(void *data)) {
  uva_wpool_t *p = w->pool;
  int last = 0;

  w->close_cb = close_cb;
  if (p != NULL) {
    uv_mutex_lock(&p->lock);
    idle_remove(p, w);
    if (w->handed != NULL) {
      /* Given to it, never started: the next worker takes it. */
      queue_unshift(p, w->handed);
      w->handed = NULL;
      p->running--;
      w->current = 0;
    }
    if (p->open) {
      p->state[w->slot] = SLOT_DEAD;
      p->dead_id[w->slot] = w->current;
    } else {
      p->state[w->slot] = SLOT_FREE;
      last = pool_drop(p, 1);
    }
    p->worker[w->slot] = NULL;
    hand_over(p);
    uv_mutex_unlock(&p->lock);
    w->pool = NULL;
    if (last)
      pool_free(p);
  }
  uv_close((uv_handle_t *) &w->async, on_worker_closed);
}
