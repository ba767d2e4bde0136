/* redis_poll.h: hiredis's event hooks on a libuv uv_poll_t (redis_poll.c),
 * the adapter redis.c gives each redisAsyncContext it makes. */
#ifndef UVA_REDIS_POLL_H
#define UVA_REDIS_POLL_H

#include <hiredis/async.h>
#include <uv.h>

typedef struct uva__rpoll_s uva__rpoll_t;

/* Puts a poll on ac's socket under ac's event hooks and asks for
 * writability (hiredis waits for it: the connect's end).  gone(k, arg)
 * when hiredis lets the socket go (the poll is then stopped and closing),
 * closed(arg) once the poll is closed and freed.  NULL when no poll could
 * be made; ac is then as it was. */
uva__rpoll_t *uva__rpoll_attach(uv_loop_t *loop, redisAsyncContext *ac,
                                void (*gone)(uva__rpoll_t *k, void *arg),
                                void (*closed)(void *arg), void *arg);

/* The poll, to ref or unref. */
uv_handle_t *uva__rpoll_handle(uva__rpoll_t *k);

#endif /* UVA_REDIS_POLL_H */
