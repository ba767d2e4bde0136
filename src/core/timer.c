/* timer.c: many one-shot timers multiplexed on one uv_timer_t.
 *
 * A binary min-heap orders the pending slots by (deadline, seq).  The uv
 * timer is armed for the earliest deadline, rounded up to whole ms; when it
 * fires, every slot whose deadline has passed by uv_hrtime() is collected
 * and handed to the callback in one batch.  Slots are freed only after the
 * callback returns, so an id in the batch is never reused while the caller
 * still reads it.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

static int slot_less(const uva_timers_t *t, uint32_t a, uint32_t b) {
  const uva_tslot_t *x = &t->slots[a];
  const uva_tslot_t *y = &t->slots[b];
  if (x->deadline != y->deadline)
    return x->deadline < y->deadline;
  return x->seq < y->seq;
}

static void heap_set(uva_timers_t *t, uint32_t pos, uint32_t slot) {
  t->heap[pos] = slot;
  t->slots[slot].heap_pos = pos;
}

static void heap_up(uva_timers_t *t, uint32_t pos) {
  uint32_t slot = t->heap[pos];
  while (pos > 0) {
    uint32_t parent = (pos - 1) / 2;
    if (!slot_less(t, slot, t->heap[parent]))
      break;
    heap_set(t, pos, t->heap[parent]);
    pos = parent;
  }
  heap_set(t, pos, slot);
}

static void heap_down(uva_timers_t *t, uint32_t pos) {
  uint32_t slot = t->heap[pos];
  for (;;) {
    uint32_t child = 2 * pos + 1;
    if (child >= t->heap_len)
      break;
    if (child + 1 < t->heap_len && slot_less(t, t->heap[child + 1],
                                             t->heap[child]))
      child++;
    if (!slot_less(t, t->heap[child], slot))
      break;
    heap_set(t, pos, t->heap[child]);
    pos = child;
  }
  heap_set(t, pos, slot);
}

static void heap_remove(uva_timers_t *t, uint32_t pos) {
  uint32_t last;
  t->slots[t->heap[pos]].heap_pos = UVA__NOT_QUEUED;
  last = t->heap[--t->heap_len];
  if (pos == t->heap_len)
    return;
  heap_set(t, pos, last);
  heap_up(t, pos);
  heap_down(t, t->slots[last].heap_pos);
}

static int timers_grow(uva_timers_t *t) {
  uint32_t n = t->nslots ? t->nslots * 2 : 64;
  uva_tslot_t *slots;
  uint32_t *heap;
  uint32_t i;

  if (n > UVA__ID_MASK + 1u)
    return UVA_ETOOMANY;
  slots = realloc(t->slots, n * sizeof(*slots));
  if (slots == NULL)
    return UV_ENOMEM;
  t->slots = slots;
  heap = realloc(t->heap, n * sizeof(*heap));
  if (heap == NULL)
    return UV_ENOMEM;
  t->heap = heap;
  for (i = t->nslots; i < n; i++) {
    memset(&slots[i], 0, sizeof(slots[i]));
    slots[i].heap_pos = UVA__NOT_QUEUED;
    slots[i].next_free = i + 1 < n ? i + 1 : t->free_head;
  }
  t->free_head = t->nslots;
  t->nslots = n;
  return 0;
}

/* The uv handle keeps the loop alive exactly while a referenced timer is
 * pending. */
static void timers_update_ref(uva_timers_t *t) {
  if (t->nref > 0)
    uv_ref((uv_handle_t *) &t->handle);
  else
    uv_unref((uv_handle_t *) &t->handle);
}

/* A slot leaves the heap (fired or cleared): it no longer counts. */
static void timers_unqueued(uva_timers_t *t, uint32_t slot) {
  if (!t->slots[slot].unref)
    t->nref--;
}

static void timers_free_slot(uva_timers_t *t, uint32_t slot) {
  uva_tslot_t *s = &t->slots[slot];
  s->state = UVA__SLOT_FREE;
  s->gen++;
  s->next_free = t->free_head;
  t->free_head = slot;
}

static void timers_on_uv(uv_timer_t *handle);

/* Arms the uv timer for the earliest deadline, or stops it when the heap is
 * empty so that an idle timer set keeps nothing alive.  `min_ms` is 1 when
 * re-arming from our own expiry: a deadline already due then (a delay(0)
 * started by what just fired) waits for the next loop turn, as Node's
 * setTimeout(0) does.  With 0, libuv would run it again in the same timers
 * phase, and a chain of such timers would never let the loop poll for I/O. */
static void timers_arm(uva_timers_t *t, uint64_t now, uint64_t min_ms) {
  uint64_t deadline;
  uint64_t ms;

  if (t->heap_len == 0) {
    if (t->armed_ns != 0) {
      uv_timer_stop(&t->handle);
      t->armed_ns = 0;
    }
    return;
  }
  deadline = t->slots[t->heap[0]].deadline;
  if (deadline == t->armed_ns)
    return;
  /* Round up: the uv timer may run late, never early; timers_on_uv checks
   * the real clock again anyway. */
  ms = deadline > now ? (deadline - now + 999999) / 1000000 : 0;
  if (ms < min_ms)
    ms = min_ms;
  t->armed_ns = deadline;
  uv_timer_start(&t->handle, timers_on_uv, ms, 0);
}

int uva_timers_init(uv_loop_t *loop, uva_timers_t *timers, uva_timers_cb cb) {
  int err;
  void *data = timers->data;

  memset(timers, 0, sizeof(*timers));
  timers->data = data;
  timers->loop = loop;
  timers->cb = cb;
  timers->free_head = UVA__NONE;
  err = uv_timer_init(loop, &timers->handle);
  if (err)
    return err;
  timers->handle.data = timers;
  return 0;
}

int64_t uva_timers_start(uva_timers_t *t, double ms) {
  return uva_timers_start_fn(t, ms, NULL, NULL);
}

int64_t uva_timers_start_fn(uva_timers_t *t, double ms, uva_timer_fn fn,
                            void *arg) {
  uint32_t slot;
  uva_tslot_t *s;
  uint64_t now;
  int err;

  if (t->closing)
    return UVA_EBADSTATE;
  if (!(ms >= 0) || ms > 1e13) /* ns deadlines fit in 64 bits. */
    return UV_EINVAL;
  if (t->free_head == UVA__NONE) {
    err = timers_grow(t);
    if (err)
      return err;
  }
  slot = t->free_head;
  s = &t->slots[slot];
  t->free_head = s->next_free;

  /* The loop's cached time may be stale after a long synchronous block;
   * refresh it so that the uv timer's own bookkeeping starts from now. */
  uv_update_time(t->loop);
  now = uv_hrtime();
  s->deadline = now + (uint64_t) ceil(ms * 1e6);
  if (s->deadline == 0)
    s->deadline = 1;
  s->seq = t->seq++;
  s->fn = fn;
  s->arg = arg;
  s->state = UVA__SLOT_QUEUED;
  s->unref = 0;
  if (t->nref++ == 0)
    timers_update_ref(t);
  t->heap[t->heap_len] = slot;
  heap_up(t, t->heap_len++);
  if (!t->in_callback)
    timers_arm(t, now, 0);
  return (int64_t) (((uint32_t) s->gen << UVA__ID_BITS) | slot);
}

/* The slot a pending timer's id names, or NULL (a stale or fired id). */
static uva_tslot_t *timers_pending_slot(uva_timers_t *t, uint32_t id) {
  uint32_t slot = id & UVA__ID_MASK;
  uva_tslot_t *s;

  if (slot >= t->nslots)
    return NULL;
  s = &t->slots[slot];
  if (s->gen != (uint8_t) (id >> UVA__ID_BITS) || s->state != UVA__SLOT_QUEUED)
    return NULL;
  return s;
}

int uva_timers_clear(uva_timers_t *t, uint32_t id) {
  uint32_t slot = id & UVA__ID_MASK;
  uva_tslot_t *s = timers_pending_slot(t, id);

  if (s == NULL)
    return 0;
  heap_remove(t, s->heap_pos);
  timers_unqueued(t, slot);
  timers_free_slot(t, slot);
  timers_update_ref(t);
  if (!t->in_callback)
    timers_arm(t, uv_hrtime(), 0);
  return 1;
}

int uva_timers_unref(uva_timers_t *t, uint32_t id) {
  uva_tslot_t *s = timers_pending_slot(t, id);

  if (s == NULL)
    return 0;
  if (!s->unref) {
    s->unref = 1;
    t->nref--;
    timers_update_ref(t);
  }
  return 1;
}

uint32_t uva_timers_pending(const uva_timers_t *t) {
  return t->heap_len;
}

static void timers_on_uv(uv_timer_t *handle) {
  uva_timers_t *t = handle->data;
  uint64_t now = uv_hrtime();
  size_t n = 0;
  size_t i;


  t->armed_ns = 0;
  while (t->heap_len > 0 && t->slots[t->heap[0]].deadline <= now) {
    uint32_t slot = t->heap[0];
    if (t->slots[slot].fn != NULL) {
      /* Owned by the core (a bucket's refill): run it here, in C, so that
       * its waiters are served without waiting for JS.  It may start new
       * timers; they are armed after the batch. */
      uva_timer_fn fn = t->slots[slot].fn;
      void *arg = t->slots[slot].arg;
      heap_remove(t, 0);
      timers_unqueued(t, slot);
      timers_free_slot(t, slot);
      t->in_callback = 1;
      fn(arg);
      t->in_callback = 0;
      if (t->closing)
        return;
      continue;
    }
    if (n == t->fired_cap) {
      uint32_t cap = t->fired_cap ? t->fired_cap * 2 : 64;
      uint32_t *fired = realloc(t->fired, cap * sizeof(*fired));
      if (fired == NULL)
        break; /* Fire what we have; the rest on the next turn. */
      t->fired = fired;
      t->fired_cap = cap;
    }
    heap_remove(t, 0);
    timers_unqueued(t, slot);
    t->slots[slot].state = UVA__SLOT_FIRING;
    t->fired[n++] = ((uint32_t) t->slots[slot].gen << UVA__ID_BITS) | slot;
  }

  if (n > 0) {
    t->in_callback = 1;
    t->cb(t, t->fired, n);
    t->in_callback = 0;
    if (t->closing)
      return;
    for (i = 0; i < n; i++)
      timers_free_slot(t, t->fired[i] & UVA__ID_MASK);
  }
  timers_update_ref(t);
  timers_arm(t, uv_hrtime(), 1);
}

static void timers_on_close(uv_handle_t *handle) {
  uva_timers_t *t = handle->data;
  free(t->slots);
  free(t->heap);
  free(t->fired);
  t->slots = NULL;
  t->heap = NULL;
  t->fired = NULL;
  if (t->close_cb != NULL)
    t->close_cb(t);
}

void uva_timers_close(uva_timers_t *t, uva_close_cb close_cb) {
  if (t->closing)
    return;
  t->closing = 1;
  t->close_cb = close_cb;
  t->heap_len = 0;
  uv_timer_stop(&t->handle);
  uv_close((uv_handle_t *) &t->handle, timers_on_close);
}
