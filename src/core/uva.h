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
/* A timer owned by the core (a bucket's refill): called in C when it
 * expires, never handed to the batch callback. */
typedef void (*uva_timer_fn)(void *arg);

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
/* Starts a timer owned by the core: `fn(arg)` is called when it expires. */
int64_t uva_timers_start_fn(uva_timers_t *timers, double ms, uva_timer_fn fn,
                            void *arg);
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

/* ---- Wait queue (private fields of the types below) -------------------- */
typedef struct uva__wnode_s uva__wnode_t;
typedef struct uva__waitq_s {
  uva__wnode_t *nodes;
  uint32_t nnodes;
  uint32_t free_head;
  uint32_t head;
  uint32_t tail;
  uint32_t len;
} uva__waitq_t;

/* Results of the flow-control calls below. */
#define UVA_NOW 1  /* Granted, stored or taken at once. */
#define UVA_WAIT 0 /* Queued as a waiter; its id was written to *id. */

/* ---- Semaphore --------------------------------------------------------
 * A counting semaphore with a FIFO of waiters.  Waiters are named by ids
 * that stay valid until granted or cancelled.
 */
typedef struct uva_sem_s {
  void *data;
  uint32_t limit;
  uint32_t active;
  uva__waitq_t waiters;
} uva_sem_t;

void uva_sem_init(uva_sem_t *s, uint32_t limit);
void uva_sem_free(uva_sem_t *s);
/* UVA_NOW (a slot is held), UVA_WAIT (*id queued) or a negative error. */
int uva_sem_acquire(uva_sem_t *s, uint32_t *id);
/* Gives a slot back.  Returns 1 and the waiter's id in *next when the slot
 * passed straight to the first waiter, 0 when it was freed, UVA_EBADSTATE
 * when no slot was held. */
int uva_sem_release(uva_sem_t *s, uint32_t *next);
/* Grants the first waiter a slot if there is room (after the limit grew).
 * Returns 1 with its id in *id, else 0. */
int uva_sem_next(uva_sem_t *s, uint32_t *id);
/* Removes a waiter; 1 if it was waiting. */
int uva_sem_cancel(uva_sem_t *s, uint32_t id);
/* Removes the first waiter without granting it; 1 with its id, else 0. */
int uva_sem_drop(uva_sem_t *s, uint32_t *id);
uint32_t uva_sem_pending(const uva_sem_t *s);

/* ---- Token bucket -----------------------------------------------------
 * `rate` tokens a second up to `capacity`.  Waiters are served first come,
 * first served: a large request is never starved by small ones, and nobody
 * jumps the queue.  Refills are computed from uv_hrtime(), and the bucket
 * arms a core-owned timer for the moment the first waiter can be served.
 */
typedef struct uva_bucket_s uva_bucket_t;
/* Waiters granted in one go: their ids and how long each waited (ms). */
typedef void (*uva_bucket_cb)(uva_bucket_t *b, const uint32_t *ids,
                              const double *waited_ms, size_t count);

struct uva_bucket_s {
  void *data;
  /* Private below this line. */
  double rate;
  double capacity;
  double tokens;
  uint64_t last_ns;
  uva__waitq_t waiters;
  uva_timers_t *timers;
  int64_t timer_id;
  uva_bucket_cb cb;
  uint32_t *grant_ids;
  double *grant_waited;
  uint32_t grant_cap;
};

int uva_bucket_init(uva_bucket_t *b, uva_timers_t *timers, double rate,
                    double capacity, uva_bucket_cb cb);
void uva_bucket_free(uva_bucket_t *b);
/* UVA_NOW, UVA_WAIT (*id queued) or UV_EINVAL (tokens > capacity). */
int uva_bucket_acquire(uva_bucket_t *b, double tokens, uint32_t *id);
/* Takes tokens only if nobody waits and they are there; 1 or 0. */
int uva_bucket_try(uva_bucket_t *b, double tokens);
double uva_bucket_available(uva_bucket_t *b);
uint32_t uva_bucket_pending(const uva_bucket_t *b);
int uva_bucket_cancel(uva_bucket_t *b, uint32_t id);
/* Removes the first waiter without serving it; 1 with its id, else 0. */
int uva_bucket_drop(uva_bucket_t *b, uint32_t *id);

/* ---- Bounded queue ----------------------------------------------------
 * The bookkeeping of a bounded FIFO: the caller keeps the items, the core
 * decides who stores, who hands over, who waits and in which order.
 */
#define UVA_Q_UNBOUNDED UINT32_MAX
enum {
  UVA_Q_STORED = 1, /* put: the item joins the buffer's tail. */
  UVA_Q_HANDED = 2, /* put: give the item to waiting getter *id. */
  UVA_Q_WAIT = 3,   /* put or get: queued as waiter *id. */
  UVA_Q_CLOSED = 4, /* put: the queue is closed. */
  UVA_Q_TAKEN = 5,  /* get: take the buffer's head; if *id is not
                       UVA_Q_NONE, putter *id's item joins the tail. */
  UVA_Q_DONE = 6    /* get: closed and empty. */
};
#define UVA_Q_NONE UINT32_MAX

typedef struct uva_queue_s {
  void *data;
  uint32_t capacity;
  uint32_t size;
  int closed;
  uva__waitq_t putters;
  uva__waitq_t getters;
} uva_queue_t;

void uva_queue_init(uva_queue_t *q, uint32_t capacity);
void uva_queue_free(uva_queue_t *q);
int uva_queue_put(uva_queue_t *q, uint32_t *id);
int uva_queue_get(uva_queue_t *q, uint32_t *id);
/* Without waiting: put is STORED, HANDED or 0 (full), CLOSED; get is TAKEN
 * (with *id as for get), DONE or 0 (empty). */
int uva_queue_try_put(uva_queue_t *q, uint32_t *id);
int uva_queue_try_get(uva_queue_t *q, uint32_t *id);
int uva_queue_cancel_put(uva_queue_t *q, uint32_t id);
int uva_queue_cancel_get(uva_queue_t *q, uint32_t id);
/* Closes the queue.  Then call uva_queue_drop_waiter until it returns 0:
 * it hands out every waiting putter (which = 0, to be refused) and, once the
 * buffer is empty, every waiting getter (which = 1, to be told done). */
void uva_queue_close(uva_queue_t *q);
int uva_queue_drop_waiter(uva_queue_t *q, int *which, uint32_t *id);

#ifdef __cplusplus
}
#endif
#endif /* UVA_H */
