/* sem.c: a counting semaphore with a FIFO of waiters. */
#include "internal.h"

void uva_sem_init(uva_sem_t *s, uint32_t limit) {
  s->limit = limit == 0 ? 1 : limit;
  s->active = 0;
  uva__waitq_init(&s->waiters);
}

void uva_sem_free(uva_sem_t *s) {
  uva__waitq_free(&s->waiters);
}

int uva_sem_acquire(uva_sem_t *s, uint32_t *id) {
  int64_t r;

  /* Nobody passes the queue: with waiters, a newcomer waits too. */
  if (s->active < s->limit && s->waiters.len == 0) {
    s->active++;
    return UVA_NOW;
  }
  r = uva__waitq_push(&s->waiters, 0, 0);
  if (r < 0)
    return (int) r;
  *id = (uint32_t) r;
  return UVA_WAIT;
}

int uva_sem_next(uva_sem_t *s, uint32_t *id) {
  if (s->active >= s->limit || s->waiters.len == 0)
    return 0;
  *id = uva__waitq_pop(&s->waiters);
  s->active++;
  return 1;
}

int uva_sem_release(uva_sem_t *s, uint32_t *next) {
  if (s->active == 0)
    return UVA_EBADSTATE;
  s->active--;
  return uva_sem_next(s, next);
}

int uva_sem_cancel(uva_sem_t *s, uint32_t id) {
  return uva__waitq_remove(&s->waiters, id);
}

int uva_sem_drop(uva_sem_t *s, uint32_t *id) {
  if (s->waiters.len == 0)
    return 0;
  *id = uva__waitq_pop(&s->waiters);
  return 1;
}

uint32_t uva_sem_pending(const uva_sem_t *s) {
  return s->waiters.len;
}
