/* wproc.h: the WorkerPool's process kind.
 *
 * The pool's side (wproc.c) starts child processes with a socket pair as
 * their fd 3 and keeps the task queue on the main loop: a child that is
 * idle is written its next task, one at a time, and a result read back
 * hands it the next in the same loop turn.  The child's side (wchild.c)
 * reads its tasks from fd 3 on its own loop and writes results back.  Both
 * read and write frames (wframe.c): a 16-byte head, [u32 payload length]
 * [u16 type][u16 status][u64 id] in the host's byte order (both ends are on
 * one machine), then the payload.  No JSON, no Node IPC channel.
 */
#ifndef UVA_WPROC_H
#define UVA_WPROC_H

#include "wpool.h"

#ifdef __cplusplus
extern "C" {
#endif

enum {
  UVA_WFRAME_TASK = 1,   /* Pool → child: a task's bytes. */
  UVA_WFRAME_RESULT = 2, /* Child → pool: a result, `status` the worker's. */
  UVA_WFRAME_READY = 3,  /* Child → pool: its module loaded, it takes tasks. */
  UVA_WFRAME_FAILED = 4  /* Child → pool: it cannot start; payload: why. */
};

/* What the pool tells of a child (uva_wproc_event_cb's `event`). */
enum {
  UVA_WPROC_READY = 1,  /* It takes tasks. */
  UVA_WPROC_FAILED = 2, /* It cannot start; data: the bytes it sent. */
  UVA_WPROC_EXIT = 3    /* It is gone: status and signal; reap its slot. */
};

/* ---- Frames (wframe.c) --------------------------------------------------- */
#define UVA_WFRAME_HEAD 16
#define UVA_WFRAME_STAGE (64 * 1024)

typedef struct uva_wframer_s {
  uint8_t head[UVA_WFRAME_HEAD];
  size_t have;       /* Head bytes so far. */
  uint8_t *payload;  /* The frame being read (its length from the head). */
  size_t len;
  size_t got;
  int in_payload;
  uint8_t *stage;    /* Reads of small frames land here, and are copied. */
  unsigned types;    /* The types this end takes (bit 1 << type). */
} uva_wframer_t;

/* A whole frame; data (NULL when len is 0) is the callee's, to free().  A
 * nonzero return stops the reading (the stream is to be closed). */
typedef int (*uva_wframe_cb)(void *arg, int type, int status, uint64_t id,
                             uint8_t *data, size_t len);

/* `types`: the frame types this end takes; a head of any other type stops
 * the reading (UV_EPROTO) before its payload is taken in. */
void uva__wframer_init(uva_wframer_t *f, unsigned types);
void uva__wframer_free(uva_wframer_t *f);
/* For uv_read_start's alloc_cb: the rest of a large payload is read into
 * its own buffer (no copy); anything else into the stage. */
void uva__wframer_alloc(uva_wframer_t *f, uv_buf_t *buf);
/* For the read_cb (nread > 0): the frames completed; 0, UV_ENOMEM, or what
 * cb returned. */
int uva__wframer_feed(uva_wframer_t *f, const uv_buf_t *buf, size_t nread,
                      uva_wframe_cb cb, void *arg);
/* Writes a frame of head + body (either may be empty): what the socket
 * takes now, the rest copied and queued behind it. */
int uva__wframe_write(uv_stream_t *s, int type, int status, uint64_t id,
                      const uva_wbuf_t *head, const uva_wbuf_t *body);

/* ---- The pool's side (wproc.c) ------------------------------------------- */
typedef struct uva_wproc_s uva_wproc_t;

typedef void (*uva_wproc_event_cb)(uva_wproc_t *p, int slot, int event,
                                   int64_t status, int signal, uint8_t *data,
                                   size_t len);

/* Results as for uva_wpool_cb (each data to free(), the array too). */
typedef void (*uva_wproc_results_cb)(uva_wproc_t *p, uva_wresult_t *results,
                                     size_t count);

int uva_wproc_new(uv_loop_t *loop, uva_wproc_results_cb results,
                  uva_wproc_event_cb event, void *data, uva_wproc_t **out);
void *uva_wproc_data(const uva_wproc_t *p);
/* Starts `file` with `args` (args[0] the program's name, NULL-terminated)
 * and `env` (NULL: this process's), its stdin /dev/null, stdout and stderr
 * this process's, fd 3 the pool's end of a socket pair: its slot (>= 0),
 * or a negative error.  UVA_WPROC_READY comes when it may take tasks. */
int uva_wproc_spawn(uva_wproc_t *p, const char *file, char **args,
                    char **env);
/* Queues a copy of the task (head then body), or writes it to an idle
 * child. */
int uva_wproc_push(uva_wproc_t *p, uint64_t id, const uva_wbuf_t *head,
                   const uva_wbuf_t *body);
/* 1 if the task was still queued (it is gone now), else 0. */
int uva_wproc_cancel(uva_wproc_t *p, uint64_t id);
/* The slot of the child running the task, or -1. */
int uva_wproc_where(uva_wproc_t *p, uint64_t id);
/* Stops the child in `slot`: signum 0 ends its fd 3 (it exits by itself),
 * else the signal.  Its UVA_WPROC_EXIT follows; the loop is held till then. */
int uva_wproc_stop(uva_wproc_t *p, int slot, int signum);
/* After its UVA_WPROC_EXIT: the slot is let go; the id of the task the
 * child was running is returned (0: none). */
uint64_t uva_wproc_reap(uva_wproc_t *p, int slot);
/* Tasks queued, running, and children spawned that have not said READY. */
void uva_wproc_counts(uva_wproc_t *p, size_t *queued, size_t *running,
                      size_t *starting);
/* Whether the pool holds the loop (while it has work). */
void uva_wproc_ref(uva_wproc_t *p, int ref);
/* Drops the queue, kills what still runs, and no callback comes any more;
 * close_cb (or NULL) once every handle has closed and the memory is gone. */
void uva_wproc_close(uva_wproc_t *p, void (*close_cb)(void *data));

/* ---- The child's side (wchild.c) ----------------------------------------- */
typedef struct uva_wchild_s uva_wchild_t;

/* A task for an idle child (data is the callee's), or, with id 0, the end:
 * the pool has gone (fd 3 closed), and the child is to exit. */
typedef void (*uva_wchild_cb)(uva_wchild_t *c, uint64_t id, uint8_t *data,
                              size_t len);

/* Opens `fd` (close-on-exec from now on, so the task's own children do not
 * hold it) on `loop`.  On an error *out is NULL, or a child to close. */
int uva_wchild_open(uv_loop_t *loop, int fd, uva_wchild_cb cb, void *data,
                    uva_wchild_t **out);
void *uva_wchild_data(const uva_wchild_t *c);
/* READY, or FAILED with why, to the pool. */
int uva_wchild_send(uva_wchild_t *c, int type, const uva_wbuf_t *body);
/* As uva_wworker_next and uva_wworker_done. */
int uva_wchild_next(uva_wchild_t *c, uint64_t *id, uint8_t **data,
                    size_t *len);
int uva_wchild_done(uva_wchild_t *c, uint64_t id, int status,
                    const uva_wbuf_t *head, const uva_wbuf_t *body,
                    uint64_t *next_id, uint8_t **next_data, size_t *next_len);
void uva_wchild_close(uva_wchild_t *c, void (*close_cb)(void *data));

#ifdef __cplusplus
}
#endif
#endif /* UVA_WPROC_H */
