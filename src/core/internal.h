/* internal.h: declarations shared by the core's files, never by callers. */
#ifndef UVA_INTERNAL_H
#define UVA_INTERNAL_H

#include "uva.h"

struct uva_tslot_s {
  uva_timer_fn fn;   /* A timer owned by the core: called in C, not batched. */
  void *arg;
  uint64_t deadline; /* uv_hrtime() ns. */
  uint64_t seq;      /* Tie-break: equal deadlines fire in start order. */
  uint32_t heap_pos; /* Index in the heap, or UVA__NOT_QUEUED. */
  uint32_t next_free;
  uint8_t gen;
  uint8_t state;
  uint8_t unref;     /* Does not keep the loop alive (uva_timers_unref). */
};

#define UVA__NOT_QUEUED UINT32_MAX
#define UVA__NONE UINT32_MAX
#define UVA__ID_BITS 24
#define UVA__ID_MASK ((1u << UVA__ID_BITS) - 1)

enum { UVA__SLOT_FREE = 0, UVA__SLOT_QUEUED = 1, UVA__SLOT_FIRING = 2 };

/* waitq.c */
struct uva__wnode_s {
  uint32_t prev;
  uint32_t next;
  double amount;  /* Tokens wanted, or the caller's tag. */
  uint64_t since; /* uv_hrtime() when it began to wait. */
  uint8_t gen;
  uint8_t used;
};

void uva__waitq_init(uva__waitq_t *q);
void uva__waitq_free(uva__waitq_t *q);
int64_t uva__waitq_push(uva__waitq_t *q, double amount, uint64_t since);
int uva__waitq_remove(uva__waitq_t *q, uint32_t id);
uva__wnode_t *uva__waitq_find(uva__waitq_t *q, uint32_t id);
uva__wnode_t *uva__waitq_head(uva__waitq_t *q, uint32_t *id);
uint32_t uva__waitq_pop(uva__waitq_t *q);

#endif /* UVA_INTERNAL_H */
