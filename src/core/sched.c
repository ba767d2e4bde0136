/* sched.c: the bookkeeping of a bounded-concurrency run, in slots. */
#include "uva.h"

void uva_sched_init(uva_sched_t *s, uint32_t limit, int64_t total,
                    int stop_on_error) {
  s->limit = limit == 0 ? 1 : limit;
  s->active = 0;
  s->settled = 0;
  s->failed = 0;
  s->total = total;
  s->stop_on_error = stop_on_error;
  s->stopped = 0;
}

uint32_t uva_sched_open(uva_sched_t *s) {
  uint64_t room;

  if (s->stopped || s->active >= s->limit)
    return 0;
  room = s->limit - s->active;
  if (s->limit == UVA_SCHED_UNLIMITED && s->total < 0)
    room = 1;
  if (s->total >= 0) {
    /* Every open slot may hold an item not yet settled. */
    uint64_t busy = s->settled + s->active;
    uint64_t left = (uint64_t) s->total > busy ? (uint64_t) s->total - busy : 0;
    if (left < room)
      room = left;
  }
  s->active += (uint32_t) room;
  return (uint32_t) room;
}

int uva_sched_report(uva_sched_t *s, uint32_t ok, uint32_t failed) {
  s->settled += (uint64_t) ok + failed;
  s->failed += failed;
  if (failed > 0 && s->stop_on_error && !s->stopped) {
    s->stopped = 1;
    return UVA_SCHED_STOPPED;
  }
  return 0;
}

int uva_sched_close(uva_sched_t *s, uint32_t slots, uint32_t ok,
                    uint32_t failed) {
  int r = uva_sched_report(s, ok, failed);
  s->active = slots > s->active ? 0 : s->active - slots;
  if (s->active == 0)
    return UVA_SCHED_DONE;
  return r;
}

void uva_sched_stop(uva_sched_t *s) {
  s->stopped = 1;
}

uint32_t uva_sched_set_limit(uva_sched_t *s, uint32_t limit) {
  s->limit = limit == 0 ? 1 : limit;
  return uva_sched_open(s);
}
