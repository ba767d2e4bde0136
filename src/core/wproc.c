/* wproc.c: the pool's side of the WorkerPool's process kind (wproc.h).
 *
 * Everything is on the main loop: the queue, the children and their
 * sockets.  A child is given one task at a time, so no task waits behind a
 * long one while another child is idle; the read that brings a result
 * writes that child its next task before the results go to the caller, one
 * call per read for however many results it held.
 *
 * A child's life: spawned (STARTING), READY once it says so, then either
 * told to stop or gone by itself.  When libuv reports its exit, what it
 * wrote before it died is read at once (so a result sent just before an
 * exit is not taken for a crash), its handles close, and the caller hears
 * UVA_WPROC_EXIT; the slot stays DEAD, holding the id of the task the
 * child was running, until the caller reaps it. */
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "wproc.h"

enum { SLOT_FREE = 0, SLOT_STARTING, SLOT_READY, SLOT_DEAD };

typedef struct ptask_s {
  uint64_t id;
  uint8_t *data;
  size_t len;
  struct ptask_s *next;
} ptask_t;

typedef struct pchild_s {
  uva_wproc_t *pool;
  int slot;
  uv_process_t proc;
  uv_pipe_t pipe;
  uv_timer_t grace; /* From the end of its fd 3 to its SIGKILL. */
  uva_wframer_t framer;
  uint64_t current; /* The task it runs, or 0. */
  int handles;      /* Open: the process, the pipe, the timer. */
  int exited;
  int eof;
  int stopping;
  int64_t status;
  int signal;
  uva_wresult_t *results; /* Of the read under way. */
  size_t nresults, rcap;
} pchild_t;

struct uva_wproc_s {
  uv_loop_t *loop;
  void *data;
  uva_wproc_results_cb results_cb;
  uva_wproc_event_cb event_cb;
  uv_async_t keep; /* Never sent: referenced while the pool has work. */
  uv_check_t check; /* Hands the results of a loop turn over. */
  int open;
  int handles;
  void (*close_cb)(void *data);
  ptask_t *qhead, *qtail;
  size_t queued;
  int nslots;
  int *state;
  pchild_t **child;
  uint64_t *dead_id;
};

int uva_wproc_new(uv_loop_t *loop, uva_wproc_results_cb results,
                  uva_wproc_event_cb event, void *data, uva_wproc_t **out) {
  uva_wproc_t *p = calloc(1, sizeof(*p));
  if (p == NULL)
    return UV_ENOMEM;
  p->loop = loop;
  p->data = data;
  p->results_cb = results;
  p->event_cb = event;
  if (uv_async_init(loop, &p->keep, NULL) != 0) {
    free(p);
    return UV_ENOMEM;
  }
  uv_unref((uv_handle_t *)&p->keep);
  p->keep.data = p;
  uv_check_init(loop, &p->check);
  uv_unref((uv_handle_t *)&p->check);
  p->check.data = p;
  p->handles = 2;
  p->open = 1;
  *out = p;
  return 0;
}

void *uva_wproc_data(const uva_wproc_t *p) {
  return p->data;
}

static void pool_free(uva_wproc_t *p) {
  ptask_t *t;
  void (*cb)(void *) = p->close_cb;
  void *data = p->data;
  while ((t = p->qhead) != NULL) {
    p->qhead = t->next;
    free(t->data);
    free(t);
  }
  free(p->state);
  free(p->child);
  free(p->dead_id);
  free(p);
  if (cb != NULL)
    cb(data);
}

static void pool_handle_closed(uva_wproc_t *p) {
  if (--p->handles == 0 && !p->open)
    pool_free(p);
}

/* ---- writing tasks ------------------------------------------------------ */

/* Writes `t` to the child, which runs it; the task's memory goes. */
static void give(pchild_t *c, ptask_t *t) {
  uva_wbuf_t body = {t->data, t->len};
  c->current = t->id;
  if (uva__wframe_write((uv_stream_t *)&c->pipe, UVA_WFRAME_TASK, 0, t->id,
                        NULL, &body) != 0) {
    /* The socket is broken: the child's exit reports the task. */
    uv_process_kill(&c->proc, SIGKILL);
  }
  free(t->data);
  free(t);
}

static ptask_t *shift(uva_wproc_t *p) {
  ptask_t *t = p->qhead;
  if (t != NULL) {
    p->qhead = t->next;
    if (p->qhead == NULL)
      p->qtail = NULL;
    p->queued--;
  }
  return t;
}

/* The child is idle: its next task, if one is queued. */
static void feed(pchild_t *c) {
  ptask_t *t;
  if (c->stopping || c->exited || c->eof ||
      c->pool->state[c->slot] != SLOT_READY || c->current != 0)
    return;
  if ((t = shift(c->pool)) != NULL)
    give(c, t);
}

/* ---- reading results ---------------------------------------------------- */

static int on_frame(void *arg, int type, int status, uint64_t id,
                    uint8_t *data, size_t len) {
  pchild_t *c = arg;
  uva_wproc_t *p = c->pool;
  uva_wresult_t *r;
  switch (type) {
  case UVA_WFRAME_RESULT:
    if (id == 0 || id != c->current)
      break; /* Not what it was given: a child that lies is ended. */
    c->current = 0;
    if (c->nresults == c->rcap) {
      size_t cap = c->rcap ? c->rcap * 2 : 8;
      uva_wresult_t *n = realloc(c->results, cap * sizeof(*n));
      if (n == NULL) {
        free(data);
        return UV_ENOMEM;
      }
      c->results = n;
      c->rcap = cap;
    }
    r = &c->results[c->nresults++];
    r->id = id;
    r->status = status;
    r->data = data;
    r->len = len;
    feed(c);
    return 0;
  case UVA_WFRAME_READY:
    if (p->state[c->slot] != SLOT_STARTING)
      break;
    free(data);
    p->state[c->slot] = SLOT_READY;
    if (p->open)
      p->event_cb(p, c->slot, UVA_WPROC_READY, 0, 0, NULL, 0);
    feed(c);
    return 0;
  case UVA_WFRAME_FAILED:
    if (p->state[c->slot] != SLOT_STARTING)
      break;
    if (p->open)
      p->event_cb(p, c->slot, UVA_WPROC_FAILED, 0, 0, data, len);
    else
      free(data);
    return 0;
  }
  free(data);
  return UV_EPROTO;
}

/* Results wait for the end of the loop's poll phase, so that those of
 * every child read in it go to the caller in one call (the children were
 * written their next tasks as their results were read). */
static void on_check(uv_check_t *h) {
  uva_wproc_t *p = h->data;
  uva_wresult_t *all;
  size_t n = 0, k = 0;
  int i;
  uv_check_stop(h);
  for (i = 0; i < p->nslots; i++)
    if (p->child[i] != NULL)
      n += p->child[i]->nresults;
  if (n == 0)
    return;
  if ((all = malloc(n * sizeof(*all))) == NULL) {
    uv_check_start(h, on_check); /* Next turn. */
    return;
  }
  for (i = 0; i < p->nslots; i++) {
    pchild_t *c = p->child[i];
    if (c == NULL || c->nresults == 0)
      continue;
    memcpy(all + k, c->results, c->nresults * sizeof(*all));
    k += c->nresults;
    c->nresults = 0;
  }
  if (p->open) {
    p->results_cb(p, all, n);
    return;
  }
  for (k = 0; k < n; k++)
    free(all[k].data);
  free(all);
}

static void flush_soon(pchild_t *c) {
  if (c->nresults > 0)
    uv_check_start(&c->pool->check, on_check);
}

static void on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf) {
  pchild_t *c = h->data;
  (void)suggested;
  uva__wframer_alloc(&c->framer, buf);
}

static void child_done(pchild_t *c);

static void on_grace(uv_timer_t *t) {
  pchild_t *c = t->data;
  uv_process_kill(&c->proc, SIGKILL);
}

/* How long a child whose fd 3 has ended may take to exit by itself. */
#define GRACE_MS 2000

static void on_read(uv_stream_t *s, ssize_t n, const uv_buf_t *buf) {
  pchild_t *c = s->data;
  int rc = 0;
  if (n > 0)
    rc = uva__wframer_feed(&c->framer, buf, (size_t)n, on_frame, c);
  flush_soon(c);
  if (n >= 0 && rc == 0)
    return;
  /* The end of fd 3 or a socket error: the child is of no more use.  One
   * that ends it is most likely exiting (it closes its fd 3 first, or the
   * kernel does as it exits), and it gets a while to do so; one that sends
   * what makes no sense is killed now. */
  uv_read_stop(s);
  c->eof = 1;
  if (c->exited)
    child_done(c);
  else if (rc != 0)
    uv_process_kill(&c->proc, SIGKILL);
  else
    uv_timer_start(&c->grace, on_grace, GRACE_MS, 0);
}

/* What the dead child wrote and the loop has not read yet, read now. */
static void drain(pchild_t *c) {
  uv_os_fd_t fd;
  uv_buf_t buf;
  ssize_t n;
  if (c->eof || uv_fileno((uv_handle_t *)&c->pipe, &fd) != 0)
    return;
  for (;;) {
    uva__wframer_alloc(&c->framer, &buf);
    if (buf.len == 0)
      break;
    do
      n = read(fd, buf.base, buf.len);
    while (n < 0 && errno == EINTR);
    if (n <= 0 || uva__wframer_feed(&c->framer, &buf, (size_t)n, on_frame,
                                    c) != 0)
      break;
  }
}

/* ---- a child's end -------------------------------------------------------- */

static void on_child_closed(uv_handle_t *h) {
  pchild_t *c = h->data;
  uva_wproc_t *p = c->pool;
  if (--c->handles > 0)
    return;
  uva__wframer_free(&c->framer);
  while (c->nresults > 0)
    free(c->results[--c->nresults].data);
  free(c->results);
  free(c);
  pool_handle_closed(p);
}

/* Exited, and what it wrote is read: the caller hears of it. */
static void child_done(pchild_t *c) {
  uva_wproc_t *p = c->pool;
  int slot = c->slot;
  if (p->child[slot] != c)
    return;
  /* Its last results (read as it died) go before the news of its end. */
  on_check(&p->check);
  p->child[slot] = NULL;
  p->state[slot] = SLOT_DEAD;
  p->dead_id[slot] = c->current;
  uv_close((uv_handle_t *)&c->grace, on_child_closed);
  uv_close((uv_handle_t *)&c->pipe, on_child_closed);
  uv_close((uv_handle_t *)&c->proc, on_child_closed);
  if (p->open)
    p->event_cb(p, slot, UVA_WPROC_EXIT, c->status, c->signal, NULL, 0);
}

static void on_child_exit(uv_process_t *proc, int64_t status, int signal) {
  pchild_t *c = proc->data;
  c->exited = 1;
  c->status = status;
  c->signal = signal;
  drain(c);
  child_done(c);
}

static int grow(uva_wproc_t *p) {
  int n = p->nslots ? p->nslots * 2 : 4, i;
  int *state = realloc(p->state, n * sizeof(*state));
  pchild_t **child;
  uint64_t *dead;
  if (state == NULL)
    return UV_ENOMEM;
  p->state = state;
  child = realloc(p->child, n * sizeof(*child));
  if (child == NULL)
    return UV_ENOMEM;
  p->child = child;
  dead = realloc(p->dead_id, n * sizeof(*dead));
  if (dead == NULL)
    return UV_ENOMEM;
  p->dead_id = dead;
  for (i = p->nslots; i < n; i++) {
    p->state[i] = SLOT_FREE;
    p->child[i] = NULL;
    p->dead_id[i] = 0;
  }
  p->nslots = n;
  return 0;
}

int uva_wproc_spawn(uva_wproc_t *p, const char *file, char **args,
                    char **env) {
  uv_process_options_t opts;
  uv_stdio_container_t stdio[4];
  pchild_t *c;
  int slot, rc;
  if (!p->open)
    return UVA_EBADSTATE;
  for (slot = 0; slot < p->nslots; slot++)
    if (p->state[slot] == SLOT_FREE)
      break;
  if (slot == p->nslots && (rc = grow(p)) != 0)
    return rc;
  if ((c = calloc(1, sizeof(*c))) == NULL)
    return UV_ENOMEM;
  c->pool = p;
  c->slot = slot;
  uva__wframer_init(&c->framer, 1u << UVA_WFRAME_RESULT | 1u << UVA_WFRAME_READY |
                                     1u << UVA_WFRAME_FAILED);
  if ((rc = uv_pipe_init(p->loop, &c->pipe, 0)) != 0) {
    free(c);
    return rc;
  }
  uv_timer_init(p->loop, &c->grace);
  uv_unref((uv_handle_t *)&c->grace);
  c->grace.data = c;
  c->pipe.data = c;
  c->proc.data = c;
  memset(&opts, 0, sizeof(opts));
  opts.file = file;
  opts.args = args;
  opts.env = env;
  opts.exit_cb = on_child_exit;
  opts.stdio_count = 4;
  opts.stdio = stdio;
  stdio[0].flags = UV_IGNORE;
  stdio[1].flags = UV_INHERIT_FD;
  stdio[1].data.fd = 1;
  stdio[2].flags = UV_INHERIT_FD;
  stdio[2].data.fd = 2;
  stdio[3].flags = UV_CREATE_PIPE | UV_READABLE_PIPE | UV_WRITABLE_PIPE;
  stdio[3].data.stream = (uv_stream_t *)&c->pipe;
  if ((rc = uv_spawn(p->loop, &c->proc, &opts)) != 0) {
    /* uv_spawn's failure leaves a handle to close (libuv >= 1.x). */
    c->handles = 3;
    c->exited = 1;
    uv_close((uv_handle_t *)&c->grace, on_child_closed);
    uv_close((uv_handle_t *)&c->proc, on_child_closed);
    uv_close((uv_handle_t *)&c->pipe, on_child_closed);
    p->handles++;
    return rc;
  }
  c->handles = 3;
  p->handles++;
  uv_unref((uv_handle_t *)&c->proc);
  uv_unref((uv_handle_t *)&c->pipe);
  uv_read_start((uv_stream_t *)&c->pipe, on_alloc, on_read);
  p->state[slot] = SLOT_STARTING;
  p->child[slot] = c;
  p->dead_id[slot] = 0;
  return slot;
}

int uva_wproc_push(uva_wproc_t *p, uint64_t id, const uva_wbuf_t *head,
                   const uva_wbuf_t *body) {
  ptask_t *t;
  int i;
  if (!p->open)
    return UVA_EBADSTATE;
  if ((t = malloc(sizeof(*t))) == NULL)
    return UV_ENOMEM;
  t->len = head->len + (body ? body->len : 0);
  if ((t->data = malloc(t->len ? t->len : 1)) == NULL) {
    free(t);
    return UV_ENOMEM;
  }
  if (head->len > 0)
    memcpy(t->data, head->base, head->len);
  if (body != NULL && body->len > 0)
    memcpy(t->data + head->len, body->base, body->len);
  t->id = id;
  t->next = NULL;
  if (p->qtail != NULL)
    p->qtail->next = t;
  else
    p->qhead = t;
  p->qtail = t;
  p->queued++;
  for (i = 0; i < p->nslots && p->qhead != NULL; i++)
    if (p->child[i] != NULL)
      feed(p->child[i]);
  return 0;
}

int uva_wproc_cancel(uva_wproc_t *p, uint64_t id) {
  ptask_t **pp, *t, *prev = NULL;
  for (pp = &p->qhead; (t = *pp) != NULL; prev = t, pp = &t->next) {
    if (t->id != id)
      continue;
    *pp = t->next;
    if (p->qtail == t)
      p->qtail = prev;
    p->queued--;
    free(t->data);
    free(t);
    return 1;
  }
  return 0;
}

int uva_wproc_where(uva_wproc_t *p, uint64_t id) {
  int i;
  for (i = 0; i < p->nslots; i++)
    if (p->child[i] != NULL && p->child[i]->current == id && id != 0)
      return i;
  return -1;
}

static void on_shutdown(uv_shutdown_t *req, int status) {
  (void)status;
  free(req);
}

int uva_wproc_stop(uva_wproc_t *p, int slot, int signum) {
  pchild_t *c;
  uv_shutdown_t *req;
  if (slot < 0 || slot >= p->nslots || (c = p->child[slot]) == NULL)
    return UV_ESRCH;
  if (!c->stopping) {
    c->stopping = 1;
    uv_ref((uv_handle_t *)&c->proc); /* Its exit is awaited. */
  }
  if (signum != 0)
    return uv_process_kill(&c->proc, signum);
  /* Its fd 3 ends (the writes queued go first); it exits when it reads
   * that.  The pool goes on reading what it sends until then. */
  if ((req = malloc(sizeof(*req))) == NULL)
    return uv_process_kill(&c->proc, SIGKILL);
  if (uv_shutdown(req, (uv_stream_t *)&c->pipe, on_shutdown) != 0) {
    free(req);
    return uv_process_kill(&c->proc, SIGKILL);
  }
  return 0;
}

uint64_t uva_wproc_reap(uva_wproc_t *p, int slot) {
  uint64_t id;
  if (slot < 0 || slot >= p->nslots || p->state[slot] != SLOT_DEAD)
    return 0;
  id = p->dead_id[slot];
  p->state[slot] = SLOT_FREE;
  p->dead_id[slot] = 0;
  return id;
}

void uva_wproc_counts(uva_wproc_t *p, size_t *queued, size_t *running,
                      size_t *starting) {
  size_t n = 0;
  size_t s = 0;
  int i;
  for (i = 0; i < p->nslots; i++) {
    if (p->child[i] != NULL && p->child[i]->current != 0)
      n++;
    s += p->state[i] == SLOT_STARTING;
  }
  *queued = p->queued;
  *running = n;
  *starting = s;
}

void uva_wproc_ref(uva_wproc_t *p, int ref) {
  if (ref)
    uv_ref((uv_handle_t *)&p->keep);
  else
    uv_unref((uv_handle_t *)&p->keep);
}

static void on_keep_closed(uv_handle_t *h) {
  pool_handle_closed(h->data);
}

void uva_wproc_close(uva_wproc_t *p, void (*close_cb)(void *data)) {
  ptask_t *t;
  int i;
  if (!p->open)
    return;
  p->open = 0;
  p->close_cb = close_cb;
  while ((t = shift(p)) != NULL) {
    free(t->data);
    free(t);
  }
  /* What still runs is killed; its exit closes its handles. */
  for (i = 0; i < p->nslots; i++) {
    if (p->child[i] != NULL && !p->child[i]->exited) {
      uv_ref((uv_handle_t *)&p->child[i]->proc);
      uv_process_kill(&p->child[i]->proc, SIGKILL);
    }
  }
  uv_close((uv_handle_t *)&p->keep, on_keep_closed);
  uv_close((uv_handle_t *)&p->check, on_keep_closed);
}
