/* redis_scripts.c: the Lua scripts the Redis store runs (redis.h), each
 * loaded with SCRIPT LOAD on every connect and called with EVALSHA (EVAL
 * after a NOSCRIPT).  All of them read Redis's own clock (TIME), never a
 * client's. */
#include "redis.h"

/* GCRA on Redis's clock.  KEYS[1]: the limit's key.  ARGV: the interval
 * per token (µs), the burst (tokens), the tokens wanted, the most the caller
 * will wait (µs, < 0: no bound).  The key holds the theoretical arrival
 * time (µs), and expires when it has passed. */
static const char GCRA[] =
    "local t = redis.call('TIME')\n"
    "local now = tonumber(t[1]) * 1000000 + tonumber(t[2])\n"
    "local interval = tonumber(ARGV[1])\n"
    "local burst = tonumber(ARGV[2])\n"
    "local n = tonumber(ARGV[3])\n"
    "local max_wait = tonumber(ARGV[4])\n"
    "local tat = tonumber(redis.call('GET', KEYS[1]) or now)\n"
    "if tat < now then tat = now end\n"
    "local new_tat = tat + n * interval\n"
    "local wait = new_tat - burst * interval - now\n"
    "if wait < 0 then wait = 0 end\n"
    "if max_wait >= 0 and wait > max_wait then\n"
    "  return {0, math.ceil(wait)}\n"
    "end\n"
    "redis.call('SET', KEYS[1], string.format('%.0f', new_tat), 'PX',\n"
    "           math.max(1, math.ceil((new_tat - now) / 1000)))\n"
    "return {1, math.ceil(wait)}\n";

/* A semaphore's permits: a sorted set of holders scored by when their
 * lease ends (ms, Redis's clock); leases past their end are dropped first.
 * ACQUIRE: ARGV permits, ttl (ms), holder → {1, 0}, or {0, ms until the
 * first lease ends}.  RELEASE: ARGV holder → {removed}.  RENEW: ARGV ttl,
 * holder → {1}, or {0} when the lease had ended (the permit is lost). */
#define NOW_MS                                                     \
  "local t = redis.call('TIME')\n"                                 \
  "local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)\n"
static const char SEM_ACQUIRE[] =
    NOW_MS
    "redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)\n"
    "if redis.call('ZCARD', KEYS[1]) < tonumber(ARGV[1]) then\n"
    "  redis.call('ZADD', KEYS[1], now + tonumber(ARGV[2]), ARGV[3])\n"
    "  redis.call('PEXPIRE', KEYS[1], tonumber(ARGV[2]))\n"
    "  return {1, 0}\n"
    "end\n"
    "local first = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')\n"
    "return {0, tonumber(first[2]) - now}\n";
static const char SEM_RELEASE[] =
    "return {redis.call('ZREM', KEYS[1], ARGV[1])}\n";
static const char SEM_RENEW[] =
    NOW_MS
    "local s = redis.call('ZSCORE', KEYS[1], ARGV[2])\n"
    "if not s or tonumber(s) < now then\n"
    "  redis.call('ZREM', KEYS[1], ARGV[2])\n"
    "  return {0}\n"
    "end\n"
    "redis.call('ZADD', KEYS[1], now + tonumber(ARGV[1]), ARGV[2])\n"
    "if redis.call('PTTL', KEYS[1]) < tonumber(ARGV[1]) then\n"
    "  redis.call('PEXPIRE', KEYS[1], tonumber(ARGV[1]))\n"
    "end\n"
    "return {1}\n";

const char *const uva__redis_scripts[UVA_REDIS_NSCRIPTS] = {
    GCRA, SEM_ACQUIRE, SEM_RELEASE, SEM_RENEW};
