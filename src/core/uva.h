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
 * The bookkeeping of a bounded-concurrency run, in slots: a slot is one
 * worker that runs items one after another.  The core decides how many
 * slots are open (never more than `limit`, never more than there are items),
 * when a failure stops the run, and when the last slot closing means the run
 * is done.  A slot reports its counts when it fails or closes, so a run of N
 * items crosses into the core O(limit) times, not O(N).
 */
#define UVA_SCHED_UNLIMITED UINT32_MAX
#define UVA_SCHED_DONE (-1)
#define UVA_SCHED_STOPPED (-2)

typedef struct uva_sched_s {
  void *data;
  uint32_t limit;     /* UVA_SCHED_UNLIMITED for Infinity. */
  uint32_t active;    /* Open slots. */
  uint64_t settled;
  uint64_t failed;
  int64_t total;      /* -1 while the source length is unknown. */
  int stop_on_error;
  int stopped;
} uva_sched_t;

void uva_sched_init(uva_sched_t *s, uint32_t limit, int64_t total,
                    int stop_on_error);
/* How many slots to open now; they are counted as open.  With no limit and
 * an unknown total it opens one at a time: the caller asks again after each
 * item it takes, so slots grow with the items the source yields. */
uint32_t uva_sched_open(uva_sched_t *s);
/* Reports completions from an open slot.  Returns UVA_SCHED_STOPPED the
 * first time a failure stops a stop-on-error run, else 0. */
int uva_sched_report(uva_sched_t *s, uint32_t ok, uint32_t failed);
/* Closes `slots` slots with their last counts.  Returns UVA_SCHED_DONE when
 * no slot is left open, UVA_SCHED_STOPPED as uva_sched_report does, else 0.
 */
int uva_sched_close(uva_sched_t *s, uint32_t slots, uint32_t ok,
                    uint32_t failed);
/* Stops the run: no slot opens from now on. */
void uva_sched_stop(uva_sched_t *s);
/* Changes the limit; returns how many slots to open because of it. */
uint32_t uva_sched_set_limit(uva_sched_t *s, uint32_t limit);

#ifdef __cplusplus
}
#endif
#endif /* UVA_H */
