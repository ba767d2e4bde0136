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
  uint32_t nref;        /* Pending timers that keep the loop alive. */
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
/* The pending timer no longer keeps the loop alive (as Node's
 * timeout.unref()): while only such timers are pending, the uv handle is
 * unreferenced.  Returns 1 if it was pending, else 0. */
int uva_timers_unref(uva_timers_t *timers, uint32_t id);
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

/* ---- Task queue --------------------------------------------------------
 * The bookkeeping of a p-queue: which task starts when.  Waiting tasks go
 * by priority (higher first, first come first served among equals); at
 * most `concurrency` run (0: no limit); with `interval_ms` and
 * `interval_cap`, at most that many start in each window (a fixed window
 * that opens at the first start after the last one ended; with
 * `carryover`, tasks still running count against the new window).  The
 * caller keeps the tasks and names them by id.  While the window holds
 * tasks back, a core-owned timer waits for its end and hands the ids that
 * can start then to the callback in one batch (they count as running; the
 * batch may be empty).
 */
#define UVA_TASKQ_DRAIN 2 /* add: queued, and uva_taskq_next() can start some now. */

typedef struct uva_taskq_s uva_taskq_t;
typedef struct uva__tlevel_s uva__tlevel_t;
typedef struct uva__tnode_s uva__tnode_t;
typedef void (*uva_taskq_cb)(uva_taskq_t *q, const uint32_t *ids, size_t count);

struct uva_taskq_s {
  void *data;
  /* Private below this line. */
  uva_timers_t *timers;
  uva_taskq_cb cb;
  uint32_t concurrency;
  uint32_t pending;        /* Running. */
  uint32_t size;           /* Waiting. */
  uint32_t interval_cap;
  uint64_t interval_ns;    /* 0: no window. */
  uint64_t window_end;
  uint32_t window_count;   /* Started in the current window. */
  int carryover;
  int paused;
  int in_window;           /* Inside the window's timer: the real clock decides. */
  int64_t timer_id;
  uva__tnode_t *nodes;
  uint32_t nnodes;
  uint32_t free_head;
  uva__tlevel_t *levels;   /* Sorted, highest priority first. */
  uint32_t nlevels;
  uint32_t levels_cap;
  uint32_t *start_ids;
  uint32_t start_cap;
};

int uva_taskq_init(uva_taskq_t *q, uva_timers_t *timers, uint32_t concurrency,
                   uint32_t interval_cap, double interval_ms, int carryover,
                   uva_taskq_cb cb);
void uva_taskq_free(uva_taskq_t *q);
/* UVA_NOW (it starts now, counted as running), UVA_WAIT (queued as *id),
 * UVA_TASKQ_DRAIN (queued as *id, and others may start: call
 * uva_taskq_next), or a negative error. */
int uva_taskq_add(uva_taskq_t *q, double priority, uint32_t *id);
/* 1 and the id of the task to start now (counted as running), or 0. */
int uva_taskq_next(uva_taskq_t *q, uint32_t *id);
/* A running task ended; then start what uva_taskq_next() gives. */
void uva_taskq_done(uva_taskq_t *q);
/* Removes a waiting task; 1 if it was waiting. */
int uva_taskq_remove(uva_taskq_t *q, uint32_t id);
/* Moves a waiting task to the back of `priority`; 1 if it was waiting. */
int uva_taskq_set_priority(uva_taskq_t *q, uint32_t id, double priority);
/* Removes the first waiting task without starting it; 1 with its id. */
int uva_taskq_drop(uva_taskq_t *q, uint32_t *id);
void uva_taskq_set_concurrency(uva_taskq_t *q, uint32_t concurrency);
void uva_taskq_pause(uva_taskq_t *q, int paused);
uint32_t uva_taskq_size(const uva_taskq_t *q);
uint32_t uva_taskq_size_by(const uva_taskq_t *q, double priority);
uint32_t uva_taskq_pending(const uva_taskq_t *q);
/* Whether the window holds a waiting task back now. */
int uva_taskq_rate_limited(const uva_taskq_t *q);

/* ---- HTTP fetcher ------------------------------------------------------
 * libcurl's multi-socket interface on the caller's loop: one uv_poll_t per
 * socket (kept while the socket lives, reused across requests), one
 * uv_timer_t for libcurl's timeout, one for rate-limit and retry waits, and
 * a uv_check_t that hands every transfer finished in a loop turn to the
 * callback in one batch.  No threads of our own.  While nothing is in
 * flight no handle is active, so the loop may exit.
 *
 * A pool is a set of limits (concurrency, per host, per second, retries)
 * that requests are scheduled through; the engine has any number of them.
 * The types are opaque so that this header needs no libcurl header.
 */
typedef struct uva_fetch_s uva_fetch_t;
typedef struct uva_fpool_s uva_fpool_t;
typedef struct uva_freq_s uva_freq_t;

/* Called once per loop turn with the requests that finished in it.  The
 * callee owns them from then on and frees each with uva_freq_free(). */
typedef void (*uva_fetch_done_cb)(uva_fetch_t *f, uva_freq_t **reqs,
                                  size_t count);
typedef void (*uva_fetch_close_cb)(void *data);
/* Called once per loop turn with the streamed requests (opts.stream) that
 * have news: the head of their response (uva_freq_head) and what body has
 * arrived (uva_freq_take_body).  They stay the engine's: their end still
 * comes through the done callback, with the rest of the body. */
typedef void (*uva_fetch_data_cb)(uva_fetch_t *f, uva_freq_t **reqs,
                                  size_t count);

/* Features of the libcurl found at run time. */
#define UVA_FETCH_HTTP2 1         /* HTTP/2 (nghttp2) built in. */
#define UVA_FETCH_H2C_REUSE 2     /* Cleartext HTTP/2 reuse works (>= 8.0). */
#define UVA_FETCH_BROTLI 4
#define UVA_FETCH_ZSTD 8
#define UVA_FETCH_H2_UPLOAD 16    /* A fed body (opts.upload) resumes over
                                   * HTTP/2 (>= 8.1); else HTTP/1.1. */
int uva_fetch_features(void);
const char *uva_fetch_curl_version(void);

uva_fetch_t *uva_fetch_new(uv_loop_t *loop, uva_fetch_done_cb cb, void *data,
                           int *err);
void *uva_fetch_data(const uva_fetch_t *f);
void uva_fetch_set_data_cb(uva_fetch_t *f, uva_fetch_data_cb cb);
/* Frees every request and pool without calling cb, closes the handles, and
 * calls close_cb(data) when the last one is closed. */
void uva_fetch_close(uva_fetch_t *f, uva_fetch_close_cb close_cb);
/* Closes the kept-alive connections if no transfer is running (returns 1),
 * else does nothing (0).  The engine does this by itself after
 * UVA_FETCH_IDLE_MS without a transfer. */
#define UVA_FETCH_IDLE_MS 4000
#define UVA_FETCH_MAX_IDLE_CONNS 1024  /* Kept-alive connections at most. */
/* The most body bytes one transfer takes in one loop turn: past it, the
 * transfer is paused until the next turn, so that a fast download never
 * holds the loop (at memory speed, a few ms). */
#define UVA_FETCH_TURN_BYTES (4u * 1024 * 1024)
/* A fed body's buffer: the feeder waits past HIGH, and is told to go on
 * once the transfer has taken it down to LOW. */
/* A streamed body of at least this much (by Content-Length) gets its
 * turns' chunks mapped (fetch_chunk.c), not malloc'd. */
#define UVA_FETCH_CHUNK_MAP_MIN (1024u * 1024)
#define UVA_FETCH_UPLOAD_HIGH (1024u * 1024)
#define UVA_FETCH_UPLOAD_LOW (256u * 1024)
int uva_fetch_close_idle(uva_fetch_t *f);

typedef struct uva_fpool_opts_s {
  uint32_t concurrency;     /* 0: no limit. */
  uint32_t per_host;        /* 0: no limit. */
  double per_second;        /* 0: no limit.  Burst: max(1, floor(rate)). */
  uint32_t retries;         /* Retries after the first attempt. */
  double retry_delay;       /* ms before the first retry; doubles after. */
  double retry_max_delay;   /* Cap on the backoff, ms. */
  double max_retry_after;   /* A longer Retry-After ends the retries, ms. */
} uva_fpool_opts_t;

typedef struct uva_fpool_stats_s {
  uint64_t active;   /* Transfers running. */
  uint64_t queued;   /* Waiting for a slot, a token or a retry. */
  uint64_t done;     /* Finished with a response. */
  uint64_t failed;   /* Finished with a network error (after retries). */
  uint64_t bytes;    /* Body bytes received. */
} uva_fpool_stats_t;

int uva_fpool_new(uva_fetch_t *f, const uva_fpool_opts_t *opts,
                  uva_fpool_t **out);
void uva_fpool_stats(const uva_fpool_t *p, uva_fpool_stats_t *out);
/* Accepts no more requests; the pool is freed when its last one is done. */
void uva_fpool_close(uva_fpool_t *p);

typedef struct uva_freq_opts_s {
  const char *url;
  const char *method;           /* NULL: GET. */
  const char *const *headers;   /* "Name: value" lines. */
  size_t nheaders;
  const void *body;             /* Copied. */
  size_t body_len;
  int has_body;
  double timeout;               /* Per attempt, ms; 0: none. */
  double connect_timeout;       /* ms; 0: libcurl's default. */
  int32_t max_redirects;        /* 0: do not follow. */
  double max_body;              /* Bytes (as received); 0: no limit. */
  int decompress;               /* Ask for every encoding libcurl decodes,
                                 * and decode.  (libcurl's decoders take a
                                 * gzip stream cut short for complete.) */
  const char *accept_encoding;  /* Instead: send this Accept-Encoding and
                                 * deliver the body as received, for the
                                 * caller to decode; copied.  NULL: none. */
  int http2;                    /* -1 off, 0 where offered (TLS), 1 also h2c. */
  int32_t retries;              /* -1: the pool's. */
  int retry_any_method;         /* Retry non-idempotent methods too. */
  const char *ca;               /* PEM certificates to trust instead of the
                                 * system's; copied.  NULL: the system's. */
  size_t ca_len;
  const char *output;           /* A file the body is written to as it
                                 * arrives (created, or truncated at each
                                 * attempt's first byte) instead of memory;
                                 * closed before the request completes, so
                                 * its result has no body.  A write that
                                 * fails ends the transfer with "EOUTPUT".
                                 * Copied.  NULL: the body in memory. */
  int stream;                   /* 1: hand the response over as it arrives
                                 * (uva_fetch_data_cb): its head once the
                                 * header block of a final response is in,
                                 * then its body a loop turn at a time; no
                                 * max_body then (the reader bounds it with
                                 * uva_freq_hold).  A 301/302/303/307/308 is
                                 * not streamed (the caller follows it), nor
                                 * a status the pool may retry; 2: a 3xx is
                                 * streamed too.  0: whole, at the end. */
  int upload;                   /* 1: the body is fed while the request runs
                                 * (uva_freq_feed), instead of `body`; never
                                 * retried, its bytes being gone once sent. */
  double upload_len;            /* Its length when known (Content-Length),
                                 * else -1 (chunked over HTTP/1.1). */
} uva_freq_opts_t;

typedef struct uva_fresult_s {
  int status;                   /* 0 on a network error. */
  int http_version;             /* 10, 11, 20, 30; 0 if none. */
  int curl_code;
  int os_errno;
  const char *error;            /* Stable code ("ECONNREFUSED") or NULL. */
  const char *message;          /* libcurl's message, or "". */
  const char *url;              /* Final URL. */
  int redirects;
  uint32_t attempts;
  double timings[5];            /* dns, connect, tls, firstByte, total, ms */
  double duration;              /* ms from the first attempt's start. */
  char reason[64];              /* The status line's reason phrase ("OK"),
                                 * cut at 63 bytes; "" for HTTP/2. */
  char *headers;                /* "name\0value\0" pairs, names lower case */
  size_t headers_len;
  uint8_t *body;
  size_t body_len;
} uva_fresult_t;

int uva_freq_new(const uva_freq_opts_t *opts, void *data, uva_freq_t **out);
void *uva_freq_data(const uva_freq_t *r);
uva_fpool_t *uva_freq_pool(const uva_freq_t *r);
/* Queues the request.  On failure the request is still the caller's. */
int uva_fetch_submit(uva_fpool_t *p, uva_freq_t *r);
/* The same at the head of the queue: the next hop of a request that has
 * had its turn (a redirect the caller follows). */
int uva_fetch_submit_first(uva_fpool_t *p, uva_freq_t *r);
/* Stops and frees a request that is not yet handed to the callback; one
 * that is finished but not yet delivered is dropped.  After this the
 * callback never sees it. */
void uva_fetch_cancel(uva_freq_t *r);
const uva_fresult_t *uva_freq_result(const uva_freq_t *r);
/* Takes the body: the caller frees it with free(). */
uint8_t *uva_freq_take_body(uva_freq_t *r, size_t *len);
/* The same without a copy: *map is 0 for memory to free() and else a
 * reference to the mapping it was cut from (a large streamed body's chunk;
 * opaque, not a size); either way the caller
 * gives it back with uva_body_free(body, *map). */
uint8_t *uva_freq_take_body_map(uva_freq_t *r, size_t *len, size_t *map);
void uva_body_free(void *body, size_t map);
void uva_freq_free(uva_freq_t *r);
/* A streamed request's head, for the data callback: 1 (and status, HTTP
 * version as 10/11/20/30, the header block and the reason phrase) the
 * first time it is asked for, 0 after. */
int uva_freq_take_head(uva_freq_t *r, int *status, int *version,
                       const char **headers, size_t *headers_len,
                       const char **reason);
/* Whether the head went out (uva_freq_take_head): the rest of the body
 * goes to a reader already there. */
int uva_freq_head_taken(const uva_freq_t *r);
/* The phases so far of a running request, as uva_fresult_t's timings. */
void uva_freq_timings(const uva_freq_t *r, double timings[5]);
/* The reader of a streamed body is full (1): the transfer pauses at its
 * next chunk; 0: it goes on. */
void uva_freq_hold(uva_freq_t *r, int full);
/* A fed body (opts.upload): appends a copy of `len` bytes, and with `end`
 * marks the body complete.  Returns 1 when the feeder is to wait (past
 * UVA_FETCH_UPLOAD_HIGH held: the data callback says when the request wants
 * more, uva_freq_take_want), 0 when it may go on, or a negative error
 * (UVA_EBADSTATE after the end). */
int uva_freq_feed(uva_freq_t *r, const void *data, size_t len, int end);
/* For the data callback: 1 (once) when a fed body's feeder that was told to
 * wait may feed again, else 0. */
int uva_freq_take_want(uva_freq_t *r);
/* For the data callback: a streamed response's body so far (as
 * uva_freq_take_body_map), or NULL and 0 for a request whose response is not
 * streamed (its news is about its fed body only). */
uint8_t *uva_freq_take_chunk(uva_freq_t *r, size_t *len, size_t *map);

#ifdef __cplusplus
}
#endif
#endif /* UVA_H */
