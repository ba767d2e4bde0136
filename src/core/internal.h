/* internal.h: declarations shared by the core's files, never by callers. */
#ifndef UVA_INTERNAL_H
#define UVA_INTERNAL_H

#include "uva.h"

struct uva_tslot_s {
  uint64_t deadline; /* uv_hrtime() ns. */
  uint64_t seq;      /* Tie-break: equal deadlines fire in start order. */
  uint32_t heap_pos; /* Index in the heap, or UVA__NOT_QUEUED. */
  uint32_t next_free;
  uint8_t gen;
  uint8_t state;
};

#define UVA__NOT_QUEUED UINT32_MAX
#define UVA__NONE UINT32_MAX
#define UVA__ID_BITS 24
#define UVA__ID_MASK ((1u << UVA__ID_BITS) - 1)

enum { UVA__SLOT_FREE = 0, UVA__SLOT_QUEUED = 1, UVA__SLOT_FIRING = 2 };

#endif /* UVA_INTERNAL_H */
