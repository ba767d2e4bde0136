/* redis.h: a Redis connection on a libuv loop (hiredis, with the core's
 * own adapter), for limits shared across processes (redis.c).
 *
 * hiredis parses and writes the protocol; everything about the socket and
 * time is the core's: a uv_poll_t that passes poll errors on to hiredis (a
 * refused connect is reported, not dropped), host names resolved with
 * uv_getaddrinfo (hiredis 0.14 would block the loop in getaddrinfo), a
 * deadline for the connect and for every command, reconnects with backoff,
 * and handles that hold the loop only while a command is pending.  The
 * GCRA script is loaded on every connect; a NOSCRIPT reply is answered with
 * EVAL.  Built only where hiredis is found (UVA_HAVE_HIREDIS).
 */
#ifndef UVA_REDIS_H
#define UVA_REDIS_H

#include "uva.h"

#ifdef __cplusplus
extern "C" {
#endif

#define UVA_EREDIS_UNAVAILABLE (-40101) /* Not connected, or the connection failed. */
#define UVA_EREDIS_TIMEOUT (-40102)     /* No reply within the command's deadline. */
#define UVA_EREDIS_REPLY (-40103)       /* Redis answered with an error. */
#define UVA_EREDIS_CLOSED (-40104)      /* The store was closed. */

typedef struct uva_redis_s uva_redis_t;

typedef struct uva_redis_opts_s {
  const char *host; /* An IP literal or a name. */
  int port;
  int db;               /* SELECTed on connect when > 0. */
  const char *password; /* AUTH on connect, or NULL. */
  uint64_t connect_timeout_ms;
  uint64_t command_timeout_ms;
  int reconnect; /* Whether to reconnect after a loss. */
} uva_redis_opts_t;

/* The scripts the store runs (each loaded on every connect). */
enum {
  UVA_REDIS_GCRA = 0,     /* ARGV: interval (µs), burst, n, max wait (µs, < 0: none) → {reserved, wait µs}. */
  UVA_REDIS_SEM_ACQUIRE,  /* ARGV: permits, ttl (ms), holder → {1, 0} or {0, ms to the first lease's end}. */
  UVA_REDIS_SEM_RELEASE,  /* ARGV: holder → {removed}. */
  UVA_REDIS_SEM_RENEW,    /* ARGV: ttl (ms), holder → {1}, or {0}: the lease had ended. */
  UVA_REDIS_NSCRIPTS
};

/* A script's reply: status 0 and its integers (at most 4), or a negative
 * status (UVA_EREDIS_*) and, for a reply error, its text. */
typedef void (*uva_redis_cb)(uva_redis_t *r, void *arg, int status,
                             const int64_t *ints, size_t n, const char *error);

int uva_redis_new(uv_loop_t *loop, const uva_redis_opts_t *opts, void *data,
                  uva_redis_t **out);
void *uva_redis_data(const uva_redis_t *r);
/* One round trip: the script with KEYS[1] = key and ARGV = args (at most
 * 6, copied).  cb comes once, always (after close: UVA_EREDIS_CLOSED). */
int uva_redis_eval(uva_redis_t *r, int script, const char *key, size_t keylen,
                   const char *const *args, const size_t *lens, int nargs,
                   uva_redis_cb cb, void *arg);
/* 1 while connected (and the script's SHA known or being loaded). */
int uva_redis_connected(const uva_redis_t *r);
/* Counters: commands sent (scripts included), replies, reconnects. */
void uva_redis_counts(const uva_redis_t *r, uint64_t *sent,
                      uint64_t *replies, uint64_t *connects);
/* Every pending command's cb comes with UVA_EREDIS_CLOSED; close_cb (or
 * NULL) once the handles are closed and the memory is gone. */
void uva_redis_close(uva_redis_t *r, void (*close_cb)(void *data));

#ifdef __cplusplus
}
#endif
#endif /* UVA_REDIS_H */
