/* fetch_deliver.c: how finished and streaming transfers reach the caller
 * (fetch_internal.h).  A finished transfer goes on the done list, which a
 * uv_check_t hands over once per loop turn; an idle handle keeps that
 * turn's poll from blocking meanwhile.  Streamed transfers with news (body
 * bytes, a fed body that may go on) are listed through a link of theirs and
 * handed over the same way, and a transfer can be held (paused) for the
 * rest of a loop turn and resumed on the next.
 */
#include <stdlib.h>
#include <string.h>

#include "fetch_internal.h"

/* ---- Delivery ---------------------------------------------------------- */

static void on_nonblock(uv_idle_t *h) {
  (void) h;
}

static void deliver_news(uva_fetch_t *f);

static void on_flush(uv_check_t *c) {
  uva_fetch_t *f = c->data;
  uva_freq_t **batch;
  size_t n;
  size_t i;
  size_t kept = 0;

  uv_check_stop(&f->flush);
  uv_idle_stop(&f->nonblock);
  /* News first: a body's chunks reach the caller before its end. */
  deliver_news(f);
  if (f->ndone == 0)
    return;
  batch = f->done;
  n = f->ndone;
  /* Cancelled ones are dropped here; the rest are the callee's. */
  for (i = 0; i < n; i++) {
    if (batch[i]->cancelled)
      uva_freq_free(batch[i]);
    else {
      batch[i]->state = UVA__FREQ_DELIVERED;
      batch[kept++] = batch[i];
    }
  }
  /* A fresh list for whatever finishes while the callback runs. */
  f->done = NULL;
  f->ndone = 0;
  f->done_cap = 0;
  if (kept > 0)
    f->cb(f, batch, kept);
  free(batch);
}

/* ---- Streamed transfers' news ------------------------------------------- */

/* ---- Lists of running transfers through a link of theirs --------------- */

#define NEWS_LINK offsetof(uva_freq_t, news_link)
#define PAUSE_LINK offsetof(uva_freq_t, pause_link)

static uva__rlink_t *rlink(uva_freq_t *r, size_t off) {
  return (uva__rlink_t *) ((char *) r + off);
}

static void rlist_push(uva_freq_t **head, uva_freq_t *r, size_t off) {
  uva__rlink_t *l = rlink(r, off);
  l->prev = NULL;
  l->next = *head;
  if (*head != NULL)
    rlink(*head, off)->prev = r;
  *head = r;
}

static void rlist_remove(uva_freq_t **head, uva_freq_t *r, size_t off) {
  uva__rlink_t *l = rlink(r, off);
  if (l->prev != NULL)
    rlink(l->prev, off)->next = l->next;
  else
    *head = l->next;
  if (l->next != NULL)
    rlink(l->next, off)->prev = l->prev;
  l->prev = l->next = NULL;
}

void uva_fetch_set_data_cb(uva_fetch_t *f, uva_fetch_data_cb cb) {
  f->data_cb = cb;
}

void uva__fetch_news(uva_fetch_t *f, uva_freq_t *r) {
  if (r->in_news)
    return;
  r->in_news = 1;
  rlist_push(&f->news, r, NEWS_LINK);
  uv_check_start(&f->flush, on_flush);
  uv_idle_start(&f->nonblock, on_nonblock);
}

void uva__fetch_news_unlink(uva_fetch_t *f, uva_freq_t *r) {
  if (!r->in_news)
    return;
  rlist_remove(&f->news, r, NEWS_LINK);
  r->in_news = 0;
}

/* The streamed transfers with news, in one call.  A transfer that finished
 * this turn is not among them: the done callback hands it over whole. */
static void deliver_news(uva_fetch_t *f) {
  uva_freq_t *stack[64];
  uva_freq_t **list = stack;
  uva_freq_t *r;
  size_t n = 0;
  size_t i;
  size_t cap = 64;

  if (f->news == NULL)
    return;
  for (r = f->news; r != NULL; r = r->news_link.next) {
    if (n == cap) {
      uva_freq_t **more = malloc(cap * 2 * sizeof(*more));
      if (more == NULL)
        break;  /* The rest wait for the next turn. */
      memcpy(more, list, n * sizeof(*more));
      if (list != stack)
        free(list);
      list = more;
      cap *= 2;
    }
    list[n++] = r;
  }
  for (i = 0; i < n; i++)
    uva__fetch_news_unlink(f, list[i]);
  if (n > 0 && f->data_cb != NULL)
    f->data_cb(f, list, n);
  if (list != stack)
    free(list);
}

/* ---- Holding a transfer for the rest of the loop turn ------------------- */

static void on_resume(uv_idle_t *h);

/* The check phase ends a loop turn: counted while a transfer is held. */
static void on_turn(uv_check_t *c) {
  uva_fetch_t *f = c->data;
  f->turn++;
  if (f->paused == NULL)
    uv_check_stop(c);
}

void uva__fetch_hold(uva_fetch_t *f, uva_freq_t *r) {
  if (r->paused)
    return;
  r->paused = 1;
  r->held_turn = f->turn;
  rlist_push(&f->paused, r, PAUSE_LINK);
  /* The idle phase comes before the next poll: the other handles (timers,
   * Node's I/O, setImmediate) have had their turn by then.  One held
   * before the idle phase of its own turn (in libcurl's timer, or while
   * resuming) waits for the next turn's: resumed in this one's, it would
   * take a second 4 MiB in the same turn (5.3 MiB seen between two
   * setImmediate ticks). */
  uv_idle_start(&f->resume, on_resume);
  uv_check_start(&f->turns, on_turn);
}

void uva__fetch_unhold(uva_fetch_t *f, uva_freq_t *r) {
  if (!r->paused)
    return;
  rlist_remove(&f->paused, r, PAUSE_LINK);
  r->paused = 0;
}

static void on_resume(uv_idle_t *h) {
  uva_fetch_t *f = h->data;
  uva_freq_t *list = f->paused;
  uva_freq_t *r;

  uv_idle_stop(&f->resume);
  /* Take the list whole: a transfer that takes its 4 MiB again while it
   * resumes is held again, for the turn after. */
  f->paused = NULL;
  while ((r = list) != NULL) {
    list = r->pause_link.next;
    if (r->held_turn == f->turn) {
      /* Held in this turn: resumed in the next. */
      rlist_push(&f->paused, r, PAUSE_LINK);
      uv_idle_start(&f->resume, on_resume);
      continue;
    }
    r->paused = 0;
    r->pause_link.prev = r->pause_link.next = NULL;
    r->turn_bytes = 0;
    if (r->reader_full) {
      r->user_paused = 1;  /* Its reader resumes it (uva_freq_hold). */
      continue;
    }
    r->user_paused = 0;
    if (r->easy != NULL)
      curl_easy_pause(r->easy, uva__freq_pause_mask(r));
  }
  /* Resuming delivers what libcurl held (and asks for its timer at 0 ms
   * for the rest); a transfer may have finished in it. */
  uva__fetch_drain(f);
}

void uva__fetch_finish(uva_fetch_t *f, uva_freq_t *r) {
  uva_fpool_t *p = r->pool;

  uva__fetch_unhold(f, r);
  uva__fetch_news_unlink(f, r);  /* The done callback hands over the rest. */
  r->user_paused = 0;
  r->turn_bytes = 0;

  if (r->easy != NULL) {
    curl_multi_remove_handle(f->multi, r->easy);
    if (uva__fetch_reuse_easy() && f->nspare < 64) {
      /* Kept as set up; the next request with this profile reuses it. */
      curl_easy_setopt(r->easy, CURLOPT_ERRORBUFFER, NULL);
      f->spare_profile[f->nspare] = r->profile;
      f->spare[f->nspare++] = r->easy;
    } else {
      curl_easy_cleanup(r->easy);
    }
    r->easy = NULL;
    f->running--;
  }
  /* The pool decides: a retry waits in the pool, else it is done. */
  uva__fpool_done(p, r);
  if (r->state == UVA__FREQ_WAITING) {
    uva__fetch_arm_wake(f);
    return;
  }
  r->pool = NULL;
  if (f->ndone == f->done_cap) {
    size_t cap = f->done_cap ? f->done_cap * 2 : 64;
    uva_freq_t **d = realloc(f->done, cap * sizeof(*d));
    if (d == NULL) {
      /* Nowhere to put it: drop it rather than lose track of memory. */
      uva_freq_free(r);
      return;
    }
    f->done = d;
    f->done_cap = cap;
  }
  r->state = UVA__FREQ_DONE;
  f->done[f->ndone++] = r;
  uv_check_start(&f->flush, on_flush);
  uv_idle_start(&f->nonblock, on_nonblock);
}
