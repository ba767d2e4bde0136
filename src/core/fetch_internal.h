/* fetch_internal.h: the fetcher's structs, shared by fetch*.c only. */
#ifndef UVA_FETCH_INTERNAL_H
#define UVA_FETCH_INTERNAL_H

#include <curl/curl.h>

#include "uva.h"

/* A doubly linked list through the requests (queue, retry waits). */
typedef struct uva__flist_s {
  uva_freq_t *head;
  uva_freq_t *tail;
  size_t len;
} uva__flist_t;

typedef enum {
  UVA__FREQ_NEW = 0,
  UVA__FREQ_QUEUED,   /* In pool->queue. */
  UVA__FREQ_WAITING,  /* In pool->waiting until due_ns (a retry). */
  UVA__FREQ_RUNNING,  /* In the multi handle. */
  UVA__FREQ_DONE,     /* In f->done, not yet delivered. */
  UVA__FREQ_DELIVERED
} uva__freq_state;

/* Per-host count of running transfers (kept when per_host is set, and for
 * cleartext HTTP/2 requests).  `h2c_ready`: an h2c request to this host came
 * back (fetch_pool.c: h2c_opens_gate), so the rest no longer wait for it. */
typedef struct uva__fhost_s {
  char *name;
  uint32_t active;
  int h2c_ready;
} uva__fhost_t;

/* A running transfer's place in one of the engine's lists of them (held
 * for the turn, with news): fetch.c's rlist_* take the link's offset. */
typedef struct uva__rlink_s {
  uva_freq_t *prev;
  uva_freq_t *next;
} uva__rlink_t;

struct uva_freq_s {
  void *data;
  uva_fetch_t *f;
  uva_fpool_t *pool;
  uva_freq_t *prev;
  uva_freq_t *next;
  uva__freq_state state;
  int cancelled;

  /* What to send. */
  char *url;
  char *method;
  char *host;          /* "host:port" key for the per-host limit. */
  char *user_agent;    /* Sent with CURLOPT_USERAGENT, not in `headers`. */
  char *ca;            /* PEM to trust (CURLOPT_CAINFO_BLOB), or NULL. */
  char *accept_encoding; /* Sent, not decoded (uva_freq_opts_t), or NULL. */
  char *output;        /* The body's file (uva_freq_opts_t), or NULL. */
  int out_fd;          /* Open from the attempt's first body byte; -1. */
  int out_errno;       /* Why writing the file failed; 0. */
  uint64_t out_len;    /* Bytes written in this attempt. */
  size_t ca_len;
  uint64_t profile;    /* Hash of every option but the URL and the body. */
  struct curl_slist *headers;
  char *body;
  size_t body_len;
  int has_body;
  /* A body fed as the request runs (fetch_upload.c): bytes held from
   * up_off to up_len of up_buf. */
  int upload;
  uint8_t *up_buf;
  size_t up_off;
  size_t up_len;
  size_t up_cap;
  int up_ended;        /* The feeder has given all of it. */
  int up_paused;       /* The read callback paused: nothing held. */
  int up_waiting;      /* The feeder waits for room (past HIGH). */
  int up_want;         /* News for it: room again (uva_freq_take_want). */
  int idempotent;
  int h2c;             /* Cleartext HTTP/2 with prior knowledge. */
  uva_freq_opts_t o;   /* Numbers only; its pointers are not kept. */

  /* While running. */
  CURL *easy;
  size_t turn_bytes;   /* Body bytes taken since the transfer last resumed. */
  int paused;          /* Held until the next loop turn (f->paused). */
  unsigned held_turn;  /* f->turn when it was held. */
  int streaming;       /* The response is handed over as it arrives. */
  int head_taken;      /* Its head has been (uva_freq_take_head). */
  int head_status;     /* From the last status line. */
  int head_version;    /* 10, 11, 20, 30 from it; 0. */
  int reader_full;     /* uva_freq_hold(r, 1): pause at the next chunk. */
  int user_paused;     /* Paused for the reader (not for the turn). */
  int in_news;         /* On f->news, the requests with news. */
  uva__rlink_t news_link;
  uva__rlink_t pause_link;
  uva__fhost_t *fhost;
  uint64_t due_ns;     /* When a waiting retry may go. */
  uint64_t start_ns;   /* Start of the first attempt. */
  int too_large;
  int got_status;      /* A status line arrived in this attempt. */
  int bad_header;      /* A header line held a NUL: refused as malformed. */
  int headers_done;    /* The last response's header block is complete. */
  int64_t content_length;
  size_t body_cap;
  size_t body_map;     /* res.body is cut from this uva__cmap_t * (fetch_chunk.c); 0. */
  size_t body_ready;   /* Bytes from res.body on known to be in memory. */
  int map_turns;       /* A large body without Content-Length: every turn's
                        * chunk is a mapping (fetch_recv.c). */
  size_t headers_cap;
  char errbuf[CURL_ERROR_SIZE];

  uva_fresult_t res;
};

struct uva_fpool_s {
  void *data;
  uva_fetch_t *f;
  uva_fpool_t *prev;      /* f->pools, every pool. */
  uva_fpool_t *next;
  uva_fpool_t *busy_prev; /* f->busy, the pools with requests queued or */
  uva_fpool_t *busy_next; /* waiting for a retry (uva__fpool_track). */
  int busy;
  uva_fpool_opts_t o;
  uva__flist_t queue;
  uva__flist_t waiting;
  uva__flist_t running;   /* Its length is the pool's active count. */
  int closing;
  int pumping;            /* Inside uva__fpool_pump: not freed meanwhile. */
  /* Token bucket for per_second. */
  double tokens;
  double capacity;
  uint64_t last_ns;
  /* Per-host counts. */
  uva__fhost_t *hosts;
  uint32_t nhosts;
  uint32_t hosts_cap;
  uva_fpool_stats_t stats; /* done, failed, bytes; the rest derived. */
};

typedef struct uva__fsock_s {
  uv_poll_t poll;
  uva_fetch_t *f;
  curl_socket_t fd;
  int events;   /* What the watcher is started for (UV_READABLE...). */
  int wanted;   /* libcurl watches this socket now. */
} uva__fsock_t;

/* Descriptors libcurl opened through open_socket_cb: connections, which it
 * closes through close_socket_cb.  Its resolver's socketpair is not among
 * them: libcurl closes that itself right after CURL_POLL_REMOVE. */
#define UVA__FD_OWNED 1

struct uva_fetch_s {
  void *data;
  uv_loop_t *loop;
  CURLM *multi;
  uva_fetch_done_cb cb;
  uv_timer_t curl_timer;   /* libcurl's timeout. */
  uv_timer_t wake_timer;   /* A token or a retry is due. */
  uv_check_t flush;        /* Delivers f->done once per loop turn. */
  uv_idle_t nonblock;      /* Keeps the poll phase from blocking meanwhile. */
  uv_timer_t idle_timer;   /* Closes idle connections after a quiet spell. */
  uv_idle_t resume;        /* Resumes the paused transfers, next loop turn. */
  uv_check_t turns;        /* Counts the loop turns while one is held. */
  unsigned turn;
  uva_freq_t *paused;      /* Transfers held for the rest of this turn. */
  uva_freq_t *news;        /* Streamed transfers with news this turn. */
  uva_fetch_data_cb data_cb;
  int in_curl_timer;       /* Inside on_curl_timer. */
  int idle_armed;
  uint64_t wake_ns;        /* What wake_timer is armed for, 0: not armed. */
  int in_wake;             /* Inside on_wake: re-arm for 1 ms at least. */
  uva__fsock_t **socks;    /* By descriptor. */
  size_t nsocks;
  unsigned char *fd_flags; /* By descriptor: UVA__FD_OWNED. */
  size_t nfd_flags;
  uva_freq_t **done;
  size_t ndone;
  size_t done_cap;
  CURL **spare;            /* Easy handles kept for reuse, */
  uint64_t *spare_profile; /* each with the profile it is set up for. */
  size_t nspare;
  uva_fpool_t *pools;
  uva_fpool_t *busy;       /* The pools the sweeps below need to visit. */
  uint32_t running;        /* Transfers in the multi handle. */
  int flushing;
  int closing;
  int open_handles;
  uva_fetch_close_cb close_cb;
};

/* fetch.c */
void uva__fetch_start(uva_fetch_t *f, uva_freq_t *r);
void uva__fetch_hold(uva_fetch_t *f, uva_freq_t *r);
void uva__fetch_unhold(uva_fetch_t *f, uva_freq_t *r);
/* A streamed transfer has news (its head, body): for this turn's data callback. */
void uva__fetch_news(uva_fetch_t *f, uva_freq_t *r);
void uva__fetch_arm_wake(uva_fetch_t *f);
void uva__fetch_finish(uva_fetch_t *f, uva_freq_t *r);
/* fetch.c: drains finished transfers after an action; whether a finished
 * easy handle may serve another transfer (libcurl >= 8.1.0); frees a
 * closing engine once its last handle has closed. */
void uva__fetch_drain(uva_fetch_t *f);
int uva__fetch_reuse_easy(void);
void uva__fetch_maybe_closed(uva_fetch_t *f);
/* fetch_sock.c: libcurl's socket and timer callbacks, and a socket's
 * watcher closed (before its descriptor is). */
int uva__fetch_socket_cb(CURL *easy, curl_socket_t fd, int what, void *userp, void *socketp);
int uva__fetch_timer_cb(CURLM *multi, long timeout_ms, void *userp);
curl_socket_t uva__fetch_open_socket_cb(void *clientp, curlsocktype purpose, struct curl_sockaddr *addr);
int uva__fetch_close_socket_cb(void *clientp, curl_socket_t fd);
void uva__fetch_sock_close(uva_fetch_t *f, curl_socket_t fd);
/* fetch_deliver.c: takes a transfer off the news list. */
void uva__fetch_news_unlink(uva_fetch_t *f, uva_freq_t *r);

/* fetch_pool.c */
void uva__fpool_pump(uva_fpool_t *p);
void uva__fpool_wake(uva_fpool_t *p, uint64_t now, uint64_t *next_ns);
void uva__fpool_done(uva_fpool_t *p, uva_freq_t *r);
void uva__fpool_free(uva_fpool_t *p);
int uva__fpool_free_if_done(uva_fpool_t *p);
void uva__fpool_unrun(uva_fpool_t *p, uva_freq_t *r);
void uva__fpool_track(uva_fpool_t *p);
void uva__flist_push(uva__flist_t *l, uva_freq_t *r);
void uva__flist_unshift(uva__flist_t *l, uva_freq_t *r);
void uva__flist_remove(uva__flist_t *l, uva_freq_t *r);

/* fetch_req.c */
int uva__freq_setup(uva_freq_t *r, CURL *easy, int features);
int uva__freq_setup_same(uva_freq_t *r, CURL *easy);
void uva__freq_collect(uva_freq_t *r, CURLcode code);
void uva__freq_reset_response(uva_freq_t *r);
size_t uva__freq_on_read(char *buf, size_t size, size_t nitems, void *arg);
size_t uva__freq_on_body(char *data, size_t size, size_t nmemb, void *arg);
size_t uva__freq_on_header(char *data, size_t size, size_t nmemb, void *arg);
int uva__freq_open_out(uva_freq_t *r);
int uva__freq_close_out(uva_freq_t *r);
int uva__freq_pause_mask(const uva_freq_t *r);
/* A mapping of at least *size bytes (set to its size), fresh or kept;
 * *ready: how many of its first bytes are present (uva__chunk_ready).
 * uva__chunk_put gives it back (kept, or unmapped). */
void *uva__chunk_map(size_t *size, size_t *ready);
/* The page the mappings are counted in, and where a chunk cut from one
 * starts (uva__chunk_ready's madvise takes no less). */
#define UVA__CHUNK_PAGE 4096u
void uva__chunk_put(void *p, size_t size);
/* A mapping with a count of the references to it: the request cutting
 * chunks from it, and each chunk handed out (uva_freq_take_body_map's
 * *map is one, as a uintptr_t); put back at the last unref. */
typedef struct uva__cmap_s {
  uint8_t *base;
  size_t size;
  unsigned refs;
} uva__cmap_t;
uva__cmap_t *uva__cmap_new(size_t *size, size_t *ready);
void uva__cmap_ref(uva__cmap_t *m);
void uva__cmap_unref(uva__cmap_t *m);
void uva__chunk_trim(void);
void uva__chunk_ready(void *chunk, size_t map, size_t *ready, size_t need);
int uva__freq_unreachable(const char *name);
int uva__freq_should_retry(const uva_freq_t *r, uint32_t retries,
                           double max_retry_after, double *retry_after_ms);

#endif /* UVA_FETCH_INTERNAL_H */
