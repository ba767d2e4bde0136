/* uva.h: the public interface of the uvasync core.
 *
 * The core runs on a libuv loop that it does not own.  It never includes a
 * Node-API header: it can be read, built and tested with libuv alone.
 * Every public struct starts with `void *data`, which the core never reads.
 * Functions return 0 or a negative UV_E* / UVA_E* code; on failure the
 * callback is never called.
 */
#ifndef UVA_H
#define UVA_H

#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Errors of our own, below libuv's range. */
#define UVA_EBADSTATE (-40001)
#define UVA_ETOOMANY (-40002)

const char *uva_err_name(int err);
const char *uva_strerror(int err);

/* ---- Timer set -------------------------------------------------------
 * Many one-shot timers on one uv_timer_t.  Deadlines are kept in
 * nanoseconds of uv_hrtime(), so a timer never fires before its delay has
 * passed, even though libuv's loop clock is cached and rounded down to ms.
 * Timers are named by a 32-bit id: a slot index plus a generation, so a
 * stale id never clears a newer timer.  Expired ids are handed over in one
 * batch per loop turn.  While no timer is pending the uv handle is stopped
 * and keeps nothing alive.
 */
typedef struct uva_timers_s uva_timers_t;
typedef struct uva_tslot_s uva_tslot_t;

typedef void (*uva_timers_cb)(uva_timers_t *timers, const uint32_t *ids,
                              size_t count);
typedef void (*uva_close_cb)(void *handle);

struct uva_timers_s {
  void *data;
  /* Private below this line. */
  uv_loop_t *loop;
  uv_timer_t handle;
  uva_timers_cb cb;
  uva_close_cb close_cb;
  uva_tslot_t *slots;   /* Slot table, grown by doubling. */
  uint32_t nslots;
  uint32_t free_head;   /* Free list through slots[].next_free. */
  uint32_t *heap;       /* Min-heap of slot indices. */
  uint32_t heap_len;
  uint32_t *fired;      /* Scratch buffer for one batch. */
  uint32_t fired_cap;
  uint64_t seq;
  uint64_t armed_ns;    /* Deadline the uv timer is armed for, 0 if none. */
  int in_callback;
  int closing;
};

int uva_timers_init(uv_loop_t *loop, uva_timers_t *timers, uva_timers_cb cb);
/* Starts a timer `ms` milliseconds from now (the clock is read afresh).
 * Returns the id (>= 0 as int64) or a negative error. */
int64_t uva_timers_start(uva_timers_t *timers, double ms);
/* Returns 1 if the timer was pending and is now cancelled, else 0. */
int uva_timers_clear(uva_timers_t *timers, uint32_t id);
uint32_t uva_timers_pending(const uva_timers_t *timers);
/* Cancels every timer (without calling cb) and closes the handle. */
void uva_timers_close(uva_timers_t *timers, uva_close_cb close_cb);

/* ---- Backoff ---------------------------------------------------------- */
typedef enum {
  UVA_BACKOFF_FIXED = 0,
  UVA_BACKOFF_LINEAR = 1,
  UVA_BACKOFF_EXPONENTIAL = 2
} uva_backoff_kind;

typedef struct uva_backoff_s {
  void *data;
  uva_backoff_kind kind;
  double delay;     /* Base delay, ms. */
  double factor;    /* Exponential factor. */
  double max_delay; /* Cap, ms (INFINITY for none). */
  double jitter;    /* 0..1: the wait is drawn from [d*(1-jitter), d]. */
} uva_backoff_t;

/* The wait before retry number `attempt` (1 = the first retry).  `rnd` is
 * a uniform number in [0, 1) supplied by the caller. */
double uva_backoff_wait(const uva_backoff_t *b, uint32_t attempt, double rnd);

/* ---- Scheduler --------------------------------------------------------
 * The bookkeeping of a bounded-concurrency run: how many may start now,
 * when to stop, when everything is done.  Completions are reported in
 * batches, so a caller crosses into the core once per batch.
 */
#define UVA_SCHED_UNLIMITED UINT32_MAX
#define UVA_SCHED_DONE (-1)
#define UVA_SCHED_STOPPED (-2)

typedef struct uva_sched_s {
  void *data;
  uint32_t limit;     /* UVA_SCHED_UNLIMITED for Infinity. */
  uint32_t active;
  uint64_t started;
  uint64_t settled;
  uint64_t failed;
  int64_t total;      /* -1 while the source length is unknown. */
  int stop_on_error;
  int stopped;
} uva_sched_t;

void uva_sched_init(uva_sched_t *s, uint32_t limit, int64_t total,
                    int stop_on_error);
/* Marks the source's length known (an iterator ran dry); slots handed
 * out past that end are taken back. */
void uva_sched_set_total(uva_sched_t *s, int64_t total);
/* Reports `ok` + `failed` completions and returns how many new items the
 * caller starts now (counted as started), or UVA_SCHED_DONE when nothing is
 * active and nothing is left, or UVA_SCHED_STOPPED once a failure stopped a
 * stop-on-error run (returned once; later calls return DONE/0). */
int64_t uva_sched_settle(uva_sched_t *s, uint32_t ok, uint32_t failed);
/* Changes the limit; returns how many may start because of it. */
int64_t uva_sched_set_limit(uva_sched_t *s, uint32_t limit);

#ifdef __cplusplus
}
#endif
#endif /* UVA_H */
