/* redis.c: a Redis connection on a libuv loop, with hiredis (redis.h).
 *
 * One redisAsyncContext at a time.  Commands are kept in the core's own
 * list beside hiredis's, each with its deadline: the timer fires for the
 * oldest, which then fails with UVA_EREDIS_TIMEOUT at once (its reply, if
 * it ever comes, is dropped), and a connection whose server has not
 * answered in that long is dropped too and made again.  While there is no
 * connection a command fails at once with UVA_EREDIS_UNAVAILABLE (the
 * caller decides what that means: reject, allow, fall back); while one is
 * being made it waits for it, within its deadline.  hiredis's events go
 * to a uv_poll_t on its socket (redis_poll.c). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <hiredis/async.h>
#include <hiredis/hiredis.h>

#include "redis.h"
#include "redis_poll.h"

/* The scripts (redis_scripts.c), by UVA_REDIS_* index. */
extern const char *const uva__redis_scripts[UVA_REDIS_NSCRIPTS];
#define SCRIPTS uva__redis_scripts

enum { R_IDLE = 0, R_RESOLVING, R_CONNECTING, R_READY, R_CLOSED };

#define MAX_ARGS 6

typedef struct rcmd_s {
  uva_redis_t *r;
  uva_redis_cb cb;
  int script;
  int nargs;
  char *args[MAX_ARGS]; /* One allocation, args[0] at its start. */
  size_t lens[MAX_ARGS];
  void *arg;
  uint64_t deadline;
  int done;      /* Its cb has come (a timeout); the reply is dropped. */
  int in_redis;  /* hiredis holds it (a callback will come). */
  int evals;     /* Sent as EVAL after a NOSCRIPT. */
  char *key;
  size_t keylen;
  struct rcmd_s *next, *prev;
} rcmd_t;

struct uva_redis_s {
  uv_loop_t *loop;
  void *data;
  uva_redis_opts_t opts;
  char *host;
  char *password;
  int state;
  redisAsyncContext *ac;
  uva__rpoll_t *conn;   /* The current context's poll. */
  uv_timer_t deadline; /* The oldest command's, or the connect's. */
  uv_timer_t retry;    /* The next connect. */
  uv_getaddrinfo_t resolve;
  int resolving;
  char addr[64];
  uint64_t backoff_ms;
  uint64_t connect_deadline;
  char sha[UVA_REDIS_NSCRIPTS][41];
  rcmd_t *head, *tail; /* Pending, oldest first. */
  size_t pending;
  uint64_t sent, replies, connects;
  int handles;
  void (*close_cb)(void *data);
};

static void start_connect(uva_redis_t *r);
static void maybe_free(uva_redis_t *r);
static void connection_lost(uva_redis_t *r);

void *uva_redis_data(const uva_redis_t *r) {
  return r->data;
}

int uva_redis_connected(const uva_redis_t *r) {
  return r->state == R_READY;
}

void uva_redis_counts(const uva_redis_t *r, uint64_t *sent,
                      uint64_t *replies, uint64_t *connects) {
  *sent = r->sent;
  *replies = r->replies;
  *connects = r->connects;
}

/* ---- the pending list ------------------------------------------------------ */

static void unlink_cmd(uva_redis_t *r, rcmd_t *c) {
  if (c->prev != NULL)
    c->prev->next = c->next;
  else
    r->head = c->next;
  if (c->next != NULL)
    c->next->prev = c->prev;
  else
    r->tail = c->prev;
  c->next = c->prev = NULL;
  r->pending--;
}

/* The loop is held while a command is pending, not otherwise. */
static void hold(uva_redis_t *r) {
  uv_handle_t *h[3] = {(uv_handle_t *)&r->deadline,
                       r->conn ? uva__rpoll_handle(r->conn) : NULL, NULL};
  int i;
  for (i = 0; h[i] != NULL; i++) {
    if (r->pending > 0)
      uv_ref(h[i]);
    else
      uv_unref(h[i]);
  }
}

static void arm_deadline(uva_redis_t *r);

/* The command's cb, once; the command goes when hiredis lets go of it. */
static void finish(rcmd_t *c, int status, const int64_t *ints, size_t n,
                   const char *error) {
  uva_redis_t *r = c->r;
  if (!c->done) {
    c->done = 1;
    unlink_cmd(r, c);
    c->cb(r, c->arg, status, ints, n, error);
  }
  if (!c->in_redis) {
    free(c->key);
    free(c->args[0]);
    free(c);
  }
  hold(r);
}

static void on_deadline(uv_timer_t *t) {
  uva_redis_t *r = t->data;
  uint64_t now = uv_now(r->loop);
  int stalled = 0;
  if (r->state == R_CONNECTING || r->state == R_RESOLVING) {
    if (now >= r->connect_deadline) {
      connection_lost(r);
      return;
    }
  }
  while (r->head != NULL && r->head->deadline <= now) {
    stalled |= r->head->in_redis;
    finish(r->head, UVA_EREDIS_TIMEOUT, NULL, 0, NULL);
  }
  if (stalled && r->state == R_READY) {
    connection_lost(r); /* It has not answered in that long. */
    return;
  }
  arm_deadline(r);
}

static void arm_deadline(uva_redis_t *r) {
  uint64_t at = 0, now;
  if (r->head != NULL)
    at = r->head->deadline;
  if ((r->state == R_CONNECTING || r->state == R_RESOLVING) &&
      (at == 0 || r->connect_deadline < at))
    at = r->connect_deadline;
  if (at == 0 || r->state == R_CLOSED) {
    uv_timer_stop(&r->deadline);
    return;
  }
  uv_update_time(r->loop);
  now = uv_now(r->loop);
  uv_timer_start(&r->deadline, on_deadline, at > now ? at - now : 0, 0);
}

/* ---- commands --------------------------------------------------------------- */

static void on_reply(redisAsyncContext *ac, void *reply, void *priv);

static int send_cmd(uva_redis_t *r, rcmd_t *c) {
  const char *argv[4 + MAX_ARGS];
  size_t len[4 + MAX_ARGS];
  int i, rc;
  int eval = c->evals || r->sha[c->script][0] == '\0';
  argv[0] = eval ? "EVAL" : "EVALSHA";
  argv[1] = eval ? SCRIPTS[c->script] : r->sha[c->script];
  argv[2] = "1";
  argv[3] = c->key;
  for (i = 0; i < 3; i++)
    len[i] = strlen(argv[i]);
  len[3] = c->keylen;
  for (i = 0; i < c->nargs; i++) {
    argv[4 + i] = c->args[i];
    len[4 + i] = c->lens[i];
  }
  rc = redisAsyncCommandArgv(r->ac, on_reply, c, 4 + c->nargs, argv, len);
  if (rc != REDIS_OK)
    return UVA_EREDIS_UNAVAILABLE;
  c->in_redis = 1;
  r->sent++;
  return 0;
}

static void on_reply(redisAsyncContext *ac, void *reply, void *priv) {
  rcmd_t *c = priv;
  uva_redis_t *r = c->r;
  redisReply *rep = reply;
  int64_t ints[4];
  size_t i, n;
  (void)ac;
  c->in_redis = 0;
  if (rep == NULL) { /* The connection went. */
    finish(c, r->state == R_CLOSED ? UVA_EREDIS_CLOSED : UVA_EREDIS_UNAVAILABLE,
           NULL, 0, NULL);
    return;
  }
  r->replies++;
  if (c->done) {
    finish(c, 0, NULL, 0, NULL);
    return;
  }
  if (rep->type == REDIS_REPLY_ERROR && strncmp(rep->str, "NOSCRIPT", 8) == 0 &&
      !c->evals && r->state == R_READY) {
    c->evals = 1; /* Flushed (or a restart): the script itself. */
    if (send_cmd(r, c) == 0)
      return;
  }
  if (rep->type == REDIS_REPLY_ARRAY && rep->elements <= 4) {
    for (i = 0, n = rep->elements; i < n; i++) {
      if (rep->element[i]->type != REDIS_REPLY_INTEGER)
        break;
      ints[i] = rep->element[i]->integer;
    }
    if (i == n) {
      finish(c, 0, ints, n, NULL);
      return;
    }
  }
  finish(c, UVA_EREDIS_REPLY, NULL, 0,
         rep->type == REDIS_REPLY_ERROR ? rep->str : "an unexpected reply");
}

int uva_redis_eval(uva_redis_t *r, int script, const char *key, size_t keylen,
                   const char *const *args, const size_t *lens, int nargs,
                   uva_redis_cb cb, void *arg) {
  rcmd_t *c;
  size_t total = 0, off = 0;
  int i;
  if (r->state == R_CLOSED)
    return UVA_EREDIS_CLOSED;
  if (script < 0 || script >= UVA_REDIS_NSCRIPTS || nargs < 0 || nargs > MAX_ARGS)
    return UV_EINVAL;
  if (r->state == R_IDLE)
    return UVA_EREDIS_UNAVAILABLE; /* Between connects: fail now. */
  for (i = 0; i < nargs; i++)
    total += lens[i] + 1;
  if ((c = calloc(1, sizeof(*c))) == NULL || (c->key = malloc(keylen + 1)) == NULL ||
      (c->args[0] = malloc(total + 1)) == NULL) {
    if (c != NULL)
      free(c->key);
    free(c);
    return UV_ENOMEM;
  }
  memcpy(c->key, key, keylen);
  c->key[keylen] = '\0';
  c->keylen = keylen;
  for (i = 0; i < nargs; i++) {
    char *base = c->args[0];
    c->args[i] = base + off;
    memcpy(c->args[i], args[i], lens[i]);
    c->args[i][lens[i]] = '\0';
    c->lens[i] = lens[i];
    off += lens[i] + 1;
  }
  c->nargs = nargs;
  c->script = script;
  c->r = r;
  c->cb = cb;
  c->arg = arg;
  uv_update_time(r->loop);
  c->deadline = uv_now(r->loop) + r->opts.command_timeout_ms;
  if (r->state == R_READY && send_cmd(r, c) != 0) {
    free(c->key);
    free(c->args[0]);
    free(c);
    return UVA_EREDIS_UNAVAILABLE;
  }
  c->prev = r->tail;
  if (r->tail != NULL)
    r->tail->next = c;
  else
    r->head = c;
  r->tail = c;
  r->pending++;
  hold(r);
  if (r->head == c)
    arm_deadline(r);
  return 0;
}

/* ---- the poll --------------------------------------------------------------- */

/* hiredis lets the socket of a context go (redis_poll.c). */
static void on_poll_gone(uva__rpoll_t *k, void *arg) {
  uva_redis_t *r = arg;
  if (r->conn == k)
    r->conn = NULL;
}

static void on_poll_closed(void *arg) {
  uva_redis_t *r = arg;
  r->handles--;
  maybe_free(r);
}

/* ---- connecting ---------------------------------------------------------------- */

static void on_setup_reply(redisAsyncContext *ac, void *reply, void *priv) {
  uva_redis_t *r = ac->data;
  redisReply *rep = reply;
  intptr_t script = (intptr_t)priv - 1; /* -1: AUTH or SELECT. */
  if (rep == NULL || r == NULL)
    return;
  if (script >= 0 && rep->type == REDIS_REPLY_STRING && rep->len == 40)
    memcpy(r->sha[script], rep->str, 41);
  else if (rep->type == REDIS_REPLY_ERROR)
    redisAsyncDisconnect(ac); /* AUTH or SELECT refused. */
}

static void on_connected(const redisAsyncContext *ac, int status) {
  uva_redis_t *r = ac->data;
  rcmd_t *c, *next;
  char db[16];
  int i;
  if (r == NULL || r->ac != ac)
    return;
  if (status != REDIS_OK) {
    /* hiredis frees the context after this. */
    r->ac = NULL;
    connection_lost(r);
    return;
  }
  r->state = R_READY;
  r->backoff_ms = 0;
  r->connects++;
  if (r->password != NULL)
    redisAsyncCommand(r->ac, on_setup_reply, NULL, "AUTH %s", r->password);
  if (r->opts.db > 0) {
    snprintf(db, sizeof(db), "%d", r->opts.db);
    redisAsyncCommand(r->ac, on_setup_reply, NULL, "SELECT %s", db);
  }
  /* The scripts, loaded on every connect; until a SHA comes, EVAL. */
  for (i = 0; i < UVA_REDIS_NSCRIPTS; i++) {
    redisAsyncCommand(r->ac, on_setup_reply, (void *)(intptr_t)(i + 1),
                      "SCRIPT LOAD %s", SCRIPTS[i]);
    r->sent++;
  }
  for (c = r->head; c != NULL; c = next) {
    next = c->next;
    if (!c->in_redis && send_cmd(r, c) != 0)
      finish(c, UVA_EREDIS_UNAVAILABLE, NULL, 0, NULL);
  }
  arm_deadline(r);
}

static void on_disconnected(const redisAsyncContext *ac, int status) {
  uva_redis_t *r = ac->data;
  (void)status;
  if (r == NULL || r->ac != ac)
    return;
  r->ac = NULL; /* hiredis frees it. */
  connection_lost(r);
}

static void on_retry(uv_timer_t *t) {
  start_connect(t->data);
}

/* The connection is gone (or never came): what waits fails, and the next
 * connect comes after a backoff (50 ms, doubling, at most 500 ms). */
static void connection_lost(uva_redis_t *r) {
  rcmd_t *c, *next;
  redisAsyncContext *ac = r->ac;
  if (r->state == R_CLOSED)
    return;
  r->state = R_IDLE;
  memset(r->sha, 0, sizeof(r->sha));
  if (ac != NULL) {
    r->ac = NULL;
    ac->data = NULL;
    redisAsyncFree(ac); /* Its callbacks come with NULL replies. */
  }
  for (c = r->head; c != NULL; c = next) {
    next = c->next;
    if (!c->in_redis)
      finish(c, UVA_EREDIS_UNAVAILABLE, NULL, 0, NULL);
  }
  arm_deadline(r);
  if (!r->opts.reconnect && r->connects > 0)
    return;
  r->backoff_ms = r->backoff_ms == 0 ? 50 : r->backoff_ms * 2;
  if (r->backoff_ms > 500)
    r->backoff_ms = 500;
  uv_timer_start(&r->retry, on_retry, r->backoff_ms, 0);
}

static void connect_addr(uva_redis_t *r, const char *ip) {
  redisAsyncContext *ac = redisAsyncConnect(ip, r->opts.port);
  if (ac == NULL || ac->err) {
    if (ac != NULL)
      redisAsyncFree(ac);
    connection_lost(r);
    return;
  }
  /* The poll waits for writability at once, as hiredis does (the connect's end). */
  uva__rpoll_t *k = uva__rpoll_attach(r->loop, ac, on_poll_gone, on_poll_closed, r);
  if (k == NULL) {
    redisAsyncFree(ac);
    connection_lost(r);
    return;
  }
  r->handles++;
  r->conn = k;
  ac->data = r;
  r->ac = ac;
  r->state = R_CONNECTING;
  redisAsyncSetConnectCallback(ac, on_connected);
  redisAsyncSetDisconnectCallback(ac, on_disconnected);
  hold(r);
}

static void on_resolved(uv_getaddrinfo_t *req, int status,
                        struct addrinfo *res) {
  uva_redis_t *r = req->data;
  r->resolving = 0;
  r->handles--;
  if (r->state == R_CLOSED) {
    uv_freeaddrinfo(res);
    maybe_free(r);
    return;
  }
  if (status != 0 || res == NULL) {
    uv_freeaddrinfo(res);
    connection_lost(r);
    return;
  }
  if (res->ai_family == AF_INET6)
    uv_ip6_name((struct sockaddr_in6 *)res->ai_addr, r->addr, sizeof(r->addr));
  else
    uv_ip4_name((struct sockaddr_in *)res->ai_addr, r->addr, sizeof(r->addr));
  uv_freeaddrinfo(res);
  connect_addr(r, r->addr);
}

static void start_connect(uva_redis_t *r) {
  struct sockaddr_in6 a6;
  struct sockaddr_in a4;
  struct addrinfo hints;
  if (r->state != R_IDLE)
    return;
  uv_update_time(r->loop);
  r->connect_deadline = uv_now(r->loop) + r->opts.connect_timeout_ms;
  if (uv_ip4_addr(r->host, r->opts.port, &a4) == 0 ||
      uv_ip6_addr(r->host, r->opts.port, &a6) == 0) {
    connect_addr(r, r->host);
  } else {
    memset(&hints, 0, sizeof(hints));
    hints.ai_socktype = SOCK_STREAM;
    r->state = R_RESOLVING;
    r->resolve.data = r;
    if (uv_getaddrinfo(r->loop, &r->resolve, on_resolved, r->host, NULL,
                       &hints) != 0) {
      r->state = R_IDLE;
      connection_lost(r);
      return;
    }
    r->resolving = 1;
    r->handles++;
  }
  arm_deadline(r);
}

int uva_redis_new(uv_loop_t *loop, const uva_redis_opts_t *opts, void *data,
                  uva_redis_t **out) {
  uva_redis_t *r = calloc(1, sizeof(*r));
  if (r == NULL || (r->host = strdup(opts->host)) == NULL) {
    free(r);
    return UV_ENOMEM;
  }
  if (opts->password != NULL && (r->password = strdup(opts->password)) == NULL) {
    free(r->host);
    free(r);
    return UV_ENOMEM;
  }
  r->loop = loop;
  r->data = data;
  r->opts = *opts;
  r->opts.host = r->host;
  r->opts.password = r->password;
  uv_timer_init(loop, &r->deadline);
  uv_timer_init(loop, &r->retry);
  uv_unref((uv_handle_t *)&r->deadline);
  uv_unref((uv_handle_t *)&r->retry);
  r->deadline.data = r;
  r->retry.data = r;
  r->handles = 2;
  r->state = R_IDLE;
  *out = r;
  start_connect(r);
  return 0;
}

/* After close, once the timers, the polls and the lookup are done. */
static void maybe_free(uva_redis_t *r) {
  void (*cb)(void *);
  void *data;
  if (r->state != R_CLOSED || r->handles > 0)
    return;
  cb = r->close_cb;
  data = r->data;
  free(r->host);
  free(r->password);
  free(r);
  if (cb != NULL)
    cb(data);
}

static void on_timer_closed(uv_handle_t *h) {
  uva_redis_t *r = h->data;
  r->handles--;
  maybe_free(r);
}

void uva_redis_close(uva_redis_t *r, void (*close_cb)(void *data)) {
  rcmd_t *c, *next;
  redisAsyncContext *ac = r->ac;
  if (r->state == R_CLOSED)
    return;
  r->state = R_CLOSED;
  r->close_cb = close_cb;
  if (ac != NULL) {
    r->ac = NULL;
    redisAsyncFree(ac); /* Pending callbacks: NULL replies, CLOSED. */
  }
  for (c = r->head; c != NULL; c = next) {
    next = c->next;
    finish(c, UVA_EREDIS_CLOSED, NULL, 0, NULL);
  }
  if (r->resolving)
    uv_cancel((uv_req_t *)&r->resolve);
  uv_close((uv_handle_t *)&r->deadline, on_timer_closed);
  uv_close((uv_handle_t *)&r->retry, on_timer_closed);
}
