/* queue.c: the bookkeeping of a bounded FIFO for producers and consumers.
 *
 * The caller keeps the items; the core decides, for each put and get,
 * whether it stores, hands over directly, or waits, and in which order the
 * waiters are served.  Everything happens inside the one call, so a waiter
 * that is cancelled is either still waiting (and removed) or already served:
 * an item is never lost nor delivered twice.
 */
#include "internal.h"

void uva_queue_init(uva_queue_t *q, uint32_t capacity) {
  q->capacity = capacity == 0 ? 1 : capacity;
  q->size = 0;
  q->closed = 0;
  uva__waitq_init(&q->putters);
  uva__waitq_init(&q->getters);
}

void uva_queue_free(uva_queue_t *q) {
  uva__waitq_free(&q->putters);
  uva__waitq_free(&q->getters);
}

int uva_queue_try_put(uva_queue_t *q, uint32_t *id) {
  if (q->closed)
    return UVA_Q_CLOSED;
  if (q->getters.len > 0) {
    *id = uva__waitq_pop(&q->getters);
    return UVA_Q_HANDED;
  }
  if (q->size < q->capacity && q->putters.len == 0) {
    q->size++;
    return UVA_Q_STORED;
  }
  return 0;
}

int uva_queue_put(uva_queue_t *q, uint32_t *id) {
  int64_t r;
  int rc = uva_queue_try_put(q, id);
  if (rc != 0)
    return rc;
  r = uva__waitq_push(&q->putters, 0, 0);
  if (r < 0)
    return (int) r;
  *id = (uint32_t) r;
  return UVA_Q_WAIT;
}

int uva_queue_try_get(uva_queue_t *q, uint32_t *id) {
  if (q->size > 0) {
    q->size--;
    *id = UVA_Q_NONE;
    /* Room was made: the first waiting putter's item joins the tail. */
    if (q->putters.len > 0) {
      *id = uva__waitq_pop(&q->putters);
      q->size++;
    }
    return UVA_Q_TAKEN;
  }
  if (q->closed)
    return UVA_Q_DONE;
  return 0;
}

int uva_queue_get(uva_queue_t *q, uint32_t *id) {
  int64_t r;
  int rc = uva_queue_try_get(q, id);
  if (rc != 0)
    return rc;
  r = uva__waitq_push(&q->getters, 0, 0);
  if (r < 0)
    return (int) r;
  *id = (uint32_t) r;
  return UVA_Q_WAIT;
}

int uva_queue_cancel_put(uva_queue_t *q, uint32_t id) {
  return uva__waitq_remove(&q->putters, id);
}

int uva_queue_cancel_get(uva_queue_t *q, uint32_t id) {
  return uva__waitq_remove(&q->getters, id);
}

void uva_queue_close(uva_queue_t *q) {
  q->closed = 1;
}

int uva_queue_drop_waiter(uva_queue_t *q, int *which, uint32_t *id) {
  if (!q->closed)
    return 0;
  if (q->putters.len > 0) {
    *which = 0;
    *id = uva__waitq_pop(&q->putters);
    return 1;
  }
  if (q->size == 0 && q->getters.len > 0) {
    *which = 1;
    *id = uva__waitq_pop(&q->getters);
    return 1;
  }
  return 0;
}
