/* sched.c: the bookkeeping of a bounded-concurrency run. */
#include "uva.h"

void uva_sched_init(uva_sched_t *s, uint32_t limit, int64_t total,
                    int stop_on_error) {
  s->limit = limit;
  s->active = 0;
  s->started = 0;
  s->settled = 0;
  s->failed = 0;
  s->total = total;
  s->stop_on_error = stop_on_error;
  s->stopped = 0;
}

void uva_sched_set_total(uva_sched_t *s, int64_t total) {
  /* Slots handed out beyond the end of the source were never used. */
  if (total >= 0 && (uint64_t) total < s->started) {
    uint64_t unused = s->started - (uint64_t) total;
    s->active = unused > s->active ? 0 : s->active - (uint32_t) unused;
    s->started = (uint64_t) total;
  }
  s->total = total;
}

static int64_t sched_room(uva_sched_t *s) {
  uint64_t room;

  if (s->stopped)
    return 0;
  room = s->limit == UVA_SCHED_UNLIMITED ? UINT32_MAX : s->limit - s->active;
  if (s->limit != UVA_SCHED_UNLIMITED && s->active >= s->limit)
    return 0;
  if (s->total >= 0 && (uint64_t) s->total - s->started < room)
    room = (uint64_t) s->total - s->started;
  s->active += (uint32_t) room;
  s->started += room;
  return (int64_t) room;
}

int64_t uva_sched_settle(uva_sched_t *s, uint32_t ok, uint32_t failed) {
  int64_t room;
  uint32_t n = ok + failed;

  s->active = n > s->active ? 0 : s->active - n;
  s->settled += n;
  s->failed += failed;
  if (failed > 0 && s->stop_on_error && !s->stopped) {
    s->stopped = 1;
    return UVA_SCHED_STOPPED;
  }
  room = sched_room(s);
  if (room == 0 && s->active == 0 &&
      (s->stopped || (s->total >= 0 && s->started >= (uint64_t) s->total)))
    return UVA_SCHED_DONE;
  return room;
}

int64_t uva_sched_set_limit(uva_sched_t *s, uint32_t limit) {
  s->limit = limit;
  return sched_room(s);
}
