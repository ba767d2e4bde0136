/* taskq.c: the bookkeeping of a p-queue: which task starts when.
 *
 * Waiting tasks sit in priority levels, a sorted array of FIFO lists (a
 * program uses a handful of priorities, usually one): an add, a start, a
 * removal and a priority change are O(1) within a level and O(levels) to
 * find one.  At most `concurrency` tasks run; with an interval, at most
 * `interval_cap` start in each window of `interval_ms`, a fixed window that
 * opens at the first start after the last window ended (with carryover,
 * tasks still running count against the new window, as in p-queue).  While
 * the window holds a task back, one core-owned timer waits for its end and
 * hands the tasks that can start then to the callback in one batch.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

struct uva__tlevel_s {
  double priority;
  uint32_t head;
  uint32_t tail;
  uint32_t len;
};

struct uva__tnode_s {
  uint32_t prev;
  uint32_t next;   /* Also the free list's link. */
  double priority;
  uint8_t gen;
  uint8_t used;
};

static uint32_t node_id(const uva_taskq_t *q, uint32_t slot) {
  return ((uint32_t) q->nodes[slot].gen << UVA__ID_BITS) | slot;
}

/* The node an id names while it waits, or NULL. */
static uva__tnode_t *node_of(uva_taskq_t *q, uint32_t id, uint32_t *slot) {
  uint32_t s = id & UVA__ID_MASK;
  if (s >= q->nnodes || !q->nodes[s].used ||
      q->nodes[s].gen != (uint8_t) (id >> UVA__ID_BITS))
    return NULL;
  *slot = s;
  return &q->nodes[s];
}

static int nodes_grow(uva_taskq_t *q) {
  uint32_t n = q->nnodes ? q->nnodes * 2 : 64;
  uva__tnode_t *nodes;
  uint32_t i;

  if (n > UVA__ID_MASK + 1u)
    return UVA_ETOOMANY;
  nodes = realloc(q->nodes, n * sizeof(*nodes));
  if (nodes == NULL)
    return UV_ENOMEM;
  for (i = q->nnodes; i < n; i++) {
    memset(&nodes[i], 0, sizeof(nodes[i]));
    nodes[i].next = i + 1 < n ? i + 1 : q->free_head;
  }
  q->free_head = q->nnodes;
  q->nodes = nodes;
  q->nnodes = n;
  return 0;
}

/* The level of `priority`: its index, or where it would go (*found = 0).
 * Levels are sorted by priority, highest first. */
static uint32_t level_find(const uva_taskq_t *q, double priority, int *found) {
  uint32_t lo = 0;
  uint32_t hi = q->nlevels;
  while (lo < hi) {
    uint32_t mid = (lo + hi) / 2;
    if (q->levels[mid].priority > priority)
      lo = mid + 1;
    else
      hi = mid;
  }
  *found = lo < q->nlevels && q->levels[lo].priority == priority;
  return lo;
}

static int level_get(uva_taskq_t *q, double priority, uint32_t *ix) {
  int found;
  uint32_t i = level_find(q, priority, &found);
  if (!found) {
    if (q->nlevels == q->levels_cap) {
      uint32_t cap = q->levels_cap ? q->levels_cap * 2 : 4;
      uva__tlevel_t *l = realloc(q->levels, cap * sizeof(*l));
      if (l == NULL)
        return UV_ENOMEM;
      q->levels = l;
      q->levels_cap = cap;
    }
    memmove(&q->levels[i + 1], &q->levels[i],
            (q->nlevels - i) * sizeof(*q->levels));
    q->levels[i].priority = priority;
    q->levels[i].head = UVA__NONE;
    q->levels[i].tail = UVA__NONE;
    q->levels[i].len = 0;
    q->nlevels++;
  }
  *ix = i;
  return 0;
}

static void level_append(uva_taskq_t *q, uint32_t ix, uint32_t slot) {
  uva__tlevel_t *l = &q->levels[ix];
  uva__tnode_t *n = &q->nodes[slot];
  n->next = UVA__NONE;
  n->prev = l->tail;
  if (l->tail != UVA__NONE)
    q->nodes[l->tail].next = slot;
  else
    l->head = slot;
  l->tail = slot;
  l->len++;
  q->size++;
}

/* Takes a node out of its level; an emptied level goes (the array stays
 * as short as the priorities in use). */
static void level_unlink(uva_taskq_t *q, uint32_t slot) {
  uva__tnode_t *n = &q->nodes[slot];
  int found;
  uint32_t ix = level_find(q, n->priority, &found);
  uva__tlevel_t *l = &q->levels[ix];

  if (n->prev != UVA__NONE)
    q->nodes[n->prev].next = n->next;
  else
    l->head = n->next;
  if (n->next != UVA__NONE)
    q->nodes[n->next].prev = n->prev;
  else
    l->tail = n->prev;
  l->len--;
  q->size--;
  if (l->len == 0) {
    memmove(&q->levels[ix], &q->levels[ix + 1],
            (q->nlevels - ix - 1) * sizeof(*q->levels));
    q->nlevels--;
  }
}

static void node_free(uva_taskq_t *q, uint32_t slot) {
  uva__tnode_t *n = &q->nodes[slot];
  n->used = 0;
  n->gen++;
  n->next = q->free_head;
  q->free_head = slot;
}

/* ---- Limits ------------------------------------------------------------ */

static void taskq_on_window(void *arg);

/* The loop's clock in ns: cached by libuv (and rounded down to a ms), one
 * memory read where uv_hrtime() is a clock call per task.  It is never
 * ahead of the real time, so it only ever finds a window still open that
 * has ended (the tasks then wait a little more).  A new window opens on the
 * real time, so it never ends early; at the window's timer the real time
 * decides too. */
static uint64_t taskq_now(const uva_taskq_t *q) {
  return q->in_window ? uv_hrtime() : uv_now(q->timers->loop) * 1000000;
}

/* Whether one more task may start now; with an interval, this may open a
 * new window, or arm the timer for the end of the current one. */
static int taskq_may_start(uva_taskq_t *q) {
  uint64_t now;

  if (q->paused || q->pending >= q->concurrency)
    return 0;
  if (q->interval_ns == 0)
    return 1;
  now = taskq_now(q);
  if (now >= q->window_end) {
    now = uv_hrtime();
    q->window_end = now + q->interval_ns;
    q->window_count = q->carryover ? q->pending : 0;
  }
  if (q->window_count < q->interval_cap)
    return 1;
  if (q->timer_id < 0)
    q->timer_id = uva_timers_start_fn(
        q->timers, (double) (q->window_end - now) / 1e6, taskq_on_window, q);
  return 0;
}

static void taskq_started(uva_taskq_t *q) {
  q->pending++;
  q->window_count++;
}

static void taskq_on_window(void *arg) {
  uva_taskq_t *q = arg;
  size_t n = 0;
  uint32_t id;

  q->timer_id = -1;
  q->in_window = 1;
  for (;;) {
    if (n == q->start_cap) {
      /* Room first, so that a task is never taken out with nowhere to put
       * its id; without memory the rest wait for the next done(). */
      uint32_t cap = q->start_cap ? q->start_cap * 2 : 16;
      uint32_t *ids = realloc(q->start_ids, cap * sizeof(*ids));
      if (ids == NULL)
        break;
      q->start_ids = ids;
      q->start_cap = cap;
    }
    if (uva_taskq_next(q, &id) != 1)
      break;
    q->start_ids[n++] = id;
  }
  q->in_window = 0;
  /* Called with none too (paused, or the concurrency full): the window has
   * ended, which the caller may want to know (p-queue's rateLimitCleared). */
  q->cb(q, q->start_ids, n);
}

/* ---- Public ------------------------------------------------------------ */

int uva_taskq_init(uva_taskq_t *q, uva_timers_t *timers, uint32_t concurrency,
                   uint32_t interval_cap, double interval_ms, int carryover,
                   uva_taskq_cb cb) {
  void *data = q->data;
  memset(q, 0, sizeof(*q));
  q->data = data;
  q->timers = timers;
  q->cb = cb;
  q->concurrency = concurrency == 0 ? UINT32_MAX : concurrency;
  q->interval_cap = interval_cap == 0 ? UINT32_MAX : interval_cap;
  if (!(interval_ms > 0) || q->interval_cap == UINT32_MAX || !isfinite(interval_ms))
    q->interval_ns = 0;
  else
    q->interval_ns = (uint64_t) ceil(interval_ms * 1e6);
  q->carryover = carryover;
  q->free_head = UVA__NONE;
  q->timer_id = -1;
  return 0;
}

void uva_taskq_free(uva_taskq_t *q) {
  if (q->timer_id >= 0)
    uva_timers_clear(q->timers, (uint32_t) q->timer_id);
  q->timer_id = -1;
  free(q->nodes);
  free(q->levels);
  free(q->start_ids);
  q->nodes = NULL;
  q->levels = NULL;
  q->start_ids = NULL;
  q->nnodes = q->nlevels = q->size = 0;
}

int uva_taskq_add(uva_taskq_t *q, double priority, uint32_t *id) {
  uint32_t slot;
  uint32_t ix;
  int err;

  if (q->size == 0 && taskq_may_start(q)) {
    taskq_started(q);
    return UVA_NOW;
  }
  if (q->free_head == UVA__NONE) {
    err = nodes_grow(q);
    if (err)
      return err;
  }
  err = level_get(q, priority, &ix);
  if (err)
    return err;
  slot = q->free_head;
  q->free_head = q->nodes[slot].next;
  q->nodes[slot].used = 1;
  q->nodes[slot].priority = priority;
  level_append(q, ix, slot);
  *id = node_id(q, slot);
  /* Room while others wait happens only where a window just ended before
   * its timer ran: the caller then calls uva_taskq_next() now. */
  return taskq_may_start(q) ? UVA_TASKQ_DRAIN : UVA_WAIT;
}

int uva_taskq_next(uva_taskq_t *q, uint32_t *id) {
  uint32_t slot;

  if (q->size == 0 || !taskq_may_start(q))
    return 0;
  slot = q->levels[0].head;
  *id = node_id(q, slot);
  level_unlink(q, slot);
  node_free(q, slot);
  taskq_started(q);
  return 1;
}

void uva_taskq_done(uva_taskq_t *q) {
  if (q->pending > 0)
    q->pending--;
}

int uva_taskq_remove(uva_taskq_t *q, uint32_t id) {
  uint32_t slot;
  if (node_of(q, id, &slot) == NULL)
    return 0;
  level_unlink(q, slot);
  node_free(q, slot);
  return 1;
}

int uva_taskq_set_priority(uva_taskq_t *q, uint32_t id, double priority) {
  uint32_t slot;
  uint32_t ix;
  uva__tnode_t *n = node_of(q, id, &slot);

  if (n == NULL)
    return 0;
  /* Out of its level and to the back of the new one, as p-queue does. */
  level_unlink(q, slot);
  if (level_get(q, priority, &ix) != 0) {
    /* No memory for a new level: it keeps its old priority. */
    priority = n->priority;
    if (level_get(q, priority, &ix) != 0)
      return UV_ENOMEM;
  }
  n->priority = priority;
  level_append(q, ix, slot);
  return 1;
}

int uva_taskq_drop(uva_taskq_t *q, uint32_t *id) {
  uint32_t slot;
  if (q->size == 0)
    return 0;
  slot = q->levels[0].head;
  *id = node_id(q, slot);
  level_unlink(q, slot);
  node_free(q, slot);
  return 1;
}

void uva_taskq_set_concurrency(uva_taskq_t *q, uint32_t concurrency) {
  q->concurrency = concurrency == 0 ? UINT32_MAX : concurrency;
}

void uva_taskq_pause(uva_taskq_t *q, int paused) {
  q->paused = paused;
}

uint32_t uva_taskq_size(const uva_taskq_t *q) {
  return q->size;
}

uint32_t uva_taskq_size_by(const uva_taskq_t *q, double priority) {
  int found;
  uint32_t ix = level_find(q, priority, &found);
  return found ? q->levels[ix].len : 0;
}

uint32_t uva_taskq_pending(const uva_taskq_t *q) {
  return q->pending;
}

int uva_taskq_rate_limited(const uva_taskq_t *q) {
  return q->interval_ns != 0 && q->size > 0 && taskq_now(q) < q->window_end &&
         q->window_count >= q->interval_cap;
}
