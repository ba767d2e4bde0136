/* wpool.h: the worker pool's shared queue (wpool.c), and the bytes and
 * results both kinds of pool use (the process kind: wproc.h). */
#ifndef UVA_WPOOL_H
#define UVA_WPOOL_H

#include "uva.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---- Worker pool -------------------------------------------------------
 * One task queue shared by every worker of a pool, each worker on a loop
 * (a thread) of its own.  The pool is made on the main loop; a worker
 * attaches to it from its own loop by the pool's address and a slot the
 * main side reserved for it.  A task is an id and bytes (copied in); a
 * worker that finishes one takes the next from the queue in the same call,
 * so no task needs a wake-up of its own while there is work; an idle
 * worker is woken (uv_async_send) when a task comes.  Results go back to
 * the main loop in batches, one wake-up for however many arrived meanwhile.
 * The pool's memory lives until the main side has closed it and every
 * reserved slot has been let go (the worker detached, or was reaped).
 */
typedef struct uva_wpool_s uva_wpool_t;
typedef struct uva_wworker_s uva_wworker_t;

/* Bytes given to the pool, copied: a head and a body, joined (one copy of
 * a large body, with no concatenation by the caller). */
typedef struct uva_wbuf_s {
  const void *base;
  size_t len;
} uva_wbuf_t;

typedef struct uva_wresult_s {
  uint64_t id;
  int status;     /* What the worker said (0: a value; else its own code). */
  uint8_t *data;  /* The caller's, to free() (NULL for no bytes). */
  size_t len;
} uva_wresult_t;

/* Results on the main loop; `results` and what they point to are the
 * callee's (each data to free(), the array with free()). */
typedef void (*uva_wpool_cb)(uva_wpool_t *p, uva_wresult_t *results,
                             size_t count);
/* A task for an idle worker, on the worker's loop; data is the callee's. */
typedef void (*uva_wworker_cb)(uva_wworker_t *w, uint64_t id, uint8_t *data,
                               size_t len);

int uva_wpool_new(uv_loop_t *loop, uva_wpool_cb cb, void *data,
                  uva_wpool_t **out);
void *uva_wpool_data(const uva_wpool_t *p);
/* A slot for a worker about to start: >= 0, or a negative error. */
int uva_wpool_reserve(uva_wpool_t *p);
/* Queues a copy of the task, head then body (body may be NULL), or hands
 * it to an idle worker. */
int uva_wpool_push(uva_wpool_t *p, uint64_t id, const uva_wbuf_t *head,
                   const uva_wbuf_t *body);
/* 1 if the task was still queued (it is gone now), else 0. */
int uva_wpool_cancel(uva_wpool_t *p, uint64_t id);
/* The slot of the worker running the task, or -1. */
int uva_wpool_where(uva_wpool_t *p, uint64_t id);
/* The worker in `slot` is gone (it exited): the slot is let go, and the id
 * of the task it was running is returned (0: none; it will never report). */
uint64_t uva_wpool_reap(uva_wpool_t *p, int slot);
/* Tasks queued, running, and workers reserved a slot that have not
 * attached yet (each will take a queued task as it attaches). */
void uva_wpool_counts(uva_wpool_t *p, size_t *queued, size_t *running,
                      size_t *starting);
void uva_wpool_ref(uva_wpool_t *p, int ref);
/* The main side lets go: queued tasks are dropped, results no longer
 * delivered; close_cb (or NULL) once its handle has closed; the memory goes
 * with the last slot. */
void uva_wpool_close(uva_wpool_t *p, void (*close_cb)(void *data));

/* From the worker's loop: attaches to the pool at `address` in `slot`. */
int uva_wworker_attach(uintptr_t address, int slot, uv_loop_t *loop,
                       uva_wworker_cb cb, void *data, uva_wworker_t **out);
void *uva_wworker_data(const uva_wworker_t *w);
/* The next task for a worker with none: 1 and the task (data is the
 * caller's), or 0 (the worker is idle; the callback brings the next). */
int uva_wworker_next(uva_wworker_t *w, uint64_t *id, uint8_t **data,
                     size_t *len);
/* The worker's result for its task (head and body copied, joined), then
 * as uva_wworker_next for the next one. */
int uva_wworker_done(uva_wworker_t *w, uint64_t id, int status,
                     const uva_wbuf_t *head, const uva_wbuf_t *body,
                     uint64_t *next_id, uint8_t **next_data,
                     size_t *next_len);
/* Detaches (from the worker's loop, before it closes); close_cb (or NULL)
 * and the worker's memory go once its handle has closed. */
void uva_wworker_detach(uva_wworker_t *w, void (*close_cb)(void *data));

#ifdef __cplusplus
}
#endif
#endif /* UVA_WPOOL_H */
