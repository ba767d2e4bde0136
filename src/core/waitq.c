/* waitq.c: a FIFO of waiters with O(1) removal from anywhere.
 *
 * Nodes live in a slab and link by index; an id is the slot index plus a
 * generation, so the id of a waiter that already left never names a newer
 * one.  Used by the semaphore, the token bucket and the queue.
 */
#include <stdlib.h>
#include <string.h>

#include "internal.h"

void uva__waitq_init(uva__waitq_t *q) {
  memset(q, 0, sizeof(*q));
  q->head = UVA__NONE;
  q->tail = UVA__NONE;
  q->free_head = UVA__NONE;
}

void uva__waitq_free(uva__waitq_t *q) {
  free(q->nodes);
  uva__waitq_init(q);
}

static int waitq_grow(uva__waitq_t *q) {
  uint32_t n = q->nnodes ? q->nnodes * 2 : 16;
  uva__wnode_t *nodes;
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

int64_t uva__waitq_push(uva__waitq_t *q, double amount, uint64_t since) {
  uint32_t slot;
  uva__wnode_t *w;
  int err;

  if (q->free_head == UVA__NONE) {
    err = waitq_grow(q);
    if (err)
      return err;
  }
  slot = q->free_head;
  w = &q->nodes[slot];
  q->free_head = w->next;
  w->used = 1;
  w->amount = amount;
  w->since = since;
  w->next = UVA__NONE;
  w->prev = q->tail;
  if (q->tail != UVA__NONE)
    q->nodes[q->tail].next = slot;
  else
    q->head = slot;
  q->tail = slot;
  q->len++;
  return (int64_t) (((uint32_t) w->gen << UVA__ID_BITS) | slot);
}

static void waitq_unlink(uva__waitq_t *q, uint32_t slot) {
  uva__wnode_t *w = &q->nodes[slot];
  if (w->prev != UVA__NONE)
    q->nodes[w->prev].next = w->next;
  else
    q->head = w->next;
  if (w->next != UVA__NONE)
    q->nodes[w->next].prev = w->prev;
  else
    q->tail = w->prev;
  w->used = 0;
  w->gen++;
  w->next = q->free_head;
  q->free_head = slot;
  q->len--;
}

uva__wnode_t *uva__waitq_find(uva__waitq_t *q, uint32_t id) {
  uint32_t slot = id & UVA__ID_MASK;
  uva__wnode_t *w;
  if (slot >= q->nnodes)
    return NULL;
  w = &q->nodes[slot];
  if (!w->used || w->gen != (uint8_t) (id >> UVA__ID_BITS))
    return NULL;
  return w;
}

int uva__waitq_remove(uva__waitq_t *q, uint32_t id) {
  if (uva__waitq_find(q, id) == NULL)
    return 0;
  waitq_unlink(q, id & UVA__ID_MASK);
  return 1;
}

uva__wnode_t *uva__waitq_head(uva__waitq_t *q, uint32_t *id) {
  uva__wnode_t *w;
  if (q->head == UVA__NONE)
    return NULL;
  w = &q->nodes[q->head];
  *id = ((uint32_t) w->gen << UVA__ID_BITS) | q->head;
  return w;
}

uint32_t uva__waitq_pop(uva__waitq_t *q) {
  uint32_t id;
  if (uva__waitq_head(q, &id) == NULL)
    return UVA__NONE;
  waitq_unlink(q, id & UVA__ID_MASK);
  return id;
}
