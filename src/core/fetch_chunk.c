/* fetch_chunk.c: memory for the chunks of a large streamed body (a loop
 * turn's worth each, UVA_FETCH_TURN_BYTES at most), mappings that the
 * chunks of a transfer are cut from one after another.
 *
 * Mapped, not malloc'd.  glibc raises its mmap threshold to the size of
 * the first mapped block it frees, so from then on every 4 MiB chunk came
 * from its heap and the heap kept what the reader had let go: a 1 GiB body
 * read through res.body peaked 40-60 MiB above what was still alive.  A
 * mapping goes back to the system as soon as the Buffer over it is
 * collected.  No MADV_HUGEPAGE: with the kernel's default THP "defrag"
 * setting (madvise), a fault in such a region compacts memory on the spot
 * when no huge page is free, and a loop turn was seen held for 28 ms on the
 * CPU (the stall test in test/fetch.test.js, on a CI run that had
 * fragmented memory); small pages cost more faults, never a stall.
 *
 * A fresh mapping is zeroed by the kernel a page fault at a time, and
 * those faults were a third of the CPU of reading a large body.  V8 frees
 * the Buffers of a body in batches, a scavenge's worth at once, so the
 * freed mappings are kept for the next chunks, process-wide (Buffers are
 * freed on their environment's thread): up to KEEP_BYTES of resident
 * pages, as mincore counts them, with how far from its start each is
 * present (its next user need not make those pages present again).  V8
 * lets 32 MiB pile up in young ArrayBuffers before it scavenges
 * (src/binding/body.cc), and a scavenge frees that and what came before
 * its check.  A 1 GiB body through res.body went from 0.75 to 0.46 ms of
 * CPU a MiB keeping 128 mappings instead of 4 (an Intel VM).  On an AMD VM
 * whose kernel pays 1.3-3.5 ms a MiB for fresh memory, keeping 32 MiB
 * still mapped 240-300 fresh chunks of the 1,600-2,300 of that body;
 * keeping 48 or 64 MiB, about 60 (as many as with no bound: the first
 * scavenge's worth), and a file written from res.body took 1.76 ms of CPU
 * a MiB with either, 2.34 with 32 (5 runs each, alternated); the peaks
 * over the baseline were 50-54, 52-54 and 53-55 MiB (32, 48, 64).  The
 * cache holds only what was freed, and is drawn on before anything new
 * is mapped, so it adds little to a peak: the pages of a scavenge's worth.
 * Kept mappings are let go when an
 * engine goes idle (uva__chunk_trim), and from then on a freed one is
 * unmapped until a transfer maps again, so that a body's garbage collected
 * after its download does not stay with the process. */
#include <stdint.h>
#include <stdlib.h>
#include <sys/mman.h>

#include "fetch_internal.h"

#define HUGE (2u * 1024 * 1024)
#define PAGE UVA__CHUNK_PAGE
#define KEEP 256                 /* 1 GiB of 4 MiB mappings at most... */
#define KEEP_BYTES (48u << 20)   /* ...and 48 MiB of their pages. */
#define MAX_PAGES ((UVA_FETCH_TURN_BYTES + HUGE) / PAGE)
#define READY_AHEAD (256u * 1024)  /* Pages made present ahead of the copy. */
#ifndef MADV_POPULATE_WRITE
#define MADV_POPULATE_WRITE 23  /* Linux 5.14; older headers lack it. */
#endif

static uv_once_t keep_once = UV_ONCE_INIT;
static uv_mutex_t keep_lock;
static void *keep[KEEP];
static size_t keep_size[KEEP];
static size_t keep_resident[KEEP];
static size_t keep_ready[KEEP];  /* Its first bytes known to be present. */
static size_t kept_bytes;
static int nkeep;
static int keeping;  /* 0 after a trim, until a transfer maps again. */

static void keep_init(void) {
  if (uv_mutex_init(&keep_lock) != 0)
    abort();  /* An invariant of the system's: no mutex, no process. */
}

void *uva__chunk_map(size_t *size, size_t *ready) {
  size_t n = (*size + HUGE - 1) / HUGE * HUGE;
  uint8_t *p;
  uintptr_t start;
  uintptr_t aligned;
  int i;

  uv_once(&keep_once, keep_init);
  uv_mutex_lock(&keep_lock);
  keeping = 1;
  for (i = nkeep - 1; i >= 0; i--) {
    if (keep_size[i] == n) {
      p = keep[i];
      kept_bytes -= keep_resident[i];
      nkeep--;
      keep[i] = keep[nkeep];
      keep_size[i] = keep_size[nkeep];
      *ready = keep_ready[i];
      keep_resident[i] = keep_resident[nkeep];
      keep_ready[i] = keep_ready[nkeep];
      uv_mutex_unlock(&keep_lock);
      *size = n;
      return p;
    }
  }
  uv_mutex_unlock(&keep_lock);

  /* The alignment's slack, trimmed to a 2 MiB boundary (where the system
   * backs anonymous memory with huge pages by itself, "always", they fit). */
  p = mmap(NULL, n + HUGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS,
           -1, 0);
  if (p == MAP_FAILED)
    return NULL;
  start = (uintptr_t) p;
  aligned = (start + HUGE - 1) & ~((uintptr_t) HUGE - 1);
  if (aligned > start)
    munmap(p, aligned - start);
  if (start + HUGE > aligned)
    munmap((void *) (aligned + n), start + HUGE - aligned);
  *size = n;
  *ready = 0;
  return (void *) aligned;
}

/* The pages of a mapping that are in memory (touched since it was made),
 * and how far from its start they all are (a chunk is filled from there,
 * and the next to use it need not make those present again). */
static size_t resident(void *p, size_t size, size_t *prefix) {
  unsigned char vec[MAX_PAGES];
  size_t pages = size / PAGE;
  size_t n = 0;
  size_t i;
  if (pages > MAX_PAGES || mincore(p, size, vec) != 0)
    return SIZE_MAX;
  for (i = 0; i < pages; i++)
    n += vec[i] & 1;
  for (i = 0; i < pages && (vec[i] & 1); i++)
    ;
  *prefix = i * PAGE;
  return n * PAGE;
}

void uva__chunk_put(void *body, size_t map) {
  size_t res;
  size_t prefix = 0;
  uv_once(&keep_once, keep_init);
  /* Its pages are counted (a system call) only when it may be kept. */
  uv_mutex_lock(&keep_lock);
  res = keeping && nkeep < KEEP && kept_bytes < KEEP_BYTES ? 0 : SIZE_MAX;
  uv_mutex_unlock(&keep_lock);
  if (res == 0)
    res = resident(body, map, &prefix);
  uv_mutex_lock(&keep_lock);
  if (res != SIZE_MAX && keeping && nkeep < KEEP && res <= KEEP_BYTES - kept_bytes) {
    keep[nkeep] = body;
    keep_size[nkeep] = map;
    keep_resident[nkeep] = res;
    keep_ready[nkeep++] = prefix;
    kept_bytes += res;
    body = NULL;
  }
  uv_mutex_unlock(&keep_lock);
  if (body != NULL)
    munmap(body, map);
}

/* Makes the pages of chunk[*ready, need) and a little beyond present and
 * writable in one call, rather than a page fault per 4 KiB as the copy
 * into them reaches each (a fault is an exception and a return; in a
 * virtual machine far more, and the faults of fresh mappings were 9 % of
 * the CPU of a 1 GiB body on one).  Pages already present cost a walk of
 * the page tables.  Where the kernel has no MADV_POPULATE_WRITE (before
 * 5.14) the copy faults them in as before. */
void uva__chunk_ready(void *chunk, size_t map, size_t *ready, size_t need) {
  size_t from = *ready;
  size_t to = (need + READY_AHEAD + PAGE - 1) / PAGE * PAGE;
  if (to > map)
    to = map;
  if (madvise((uint8_t *) chunk + from, to - from, MADV_POPULATE_WRITE) != 0)
    to = map;  /* Not to be had: the faults it is. */
  *ready = to;
}

void uva__chunk_trim(void) {
  void *out[KEEP];
  size_t sizes[KEEP];
  int n;
  int i;

  uv_once(&keep_once, keep_init);
  uv_mutex_lock(&keep_lock);
  n = nkeep;
  for (i = 0; i < n; i++) {
    out[i] = keep[i];
    sizes[i] = keep_size[i];
  }
  nkeep = 0;
  kept_bytes = 0;
  keeping = 0;
  uv_mutex_unlock(&keep_lock);
  for (i = 0; i < n; i++)
    munmap(out[i], sizes[i]);
}

/* ---- A mapping shared by the chunks cut from it --------------------------
 * A turn's chunk is what the socket had (0.5-1 MiB for a body from nginx
 * on loopback), far less than a mapping; the next chunks are cut from the
 * rest of it, so that every page of a mapping holds body (one chunk a
 * mapping left most of each mapping's pages untouched, or stale from an
 * earlier, larger use: a kept mapping counted all the pages it ever had).
 * A 1 GiB body read through res.body and dropped went from 1.23 to 0.80 ms
 * of CPU a MiB and its peak from 75-85 to 55 MiB over the baseline; into a
 * file, 1.76 to 1.67 ms a MiB, peak 48 MiB (4 runs each, AMD VM).
 * One reference for the request cutting chunks from it, one per chunk
 * handed out; the chunks' are let go on the thread of the environment that
 * collected them, the request's on its loop's (the same thread for one
 * environment, but atomics cost nothing here). */
uva__cmap_t *uva__cmap_new(size_t *size, size_t *ready) {
  uva__cmap_t *m = malloc(sizeof(*m));
  if (m == NULL)
    return NULL;
  m->base = uva__chunk_map(size, ready);
  if (m->base == NULL) {
    free(m);
    return NULL;
  }
  m->size = *size;
  m->refs = 1;
  return m;
}

void uva__cmap_ref(uva__cmap_t *m) {
  __atomic_add_fetch(&m->refs, 1, __ATOMIC_RELAXED);
}

void uva__cmap_unref(uva__cmap_t *m) {
  if (__atomic_sub_fetch(&m->refs, 1, __ATOMIC_ACQ_REL) != 0)
    return;
  uva__chunk_put(m->base, m->size);
  free(m);
}

void uva_body_free(void *body, size_t map) {
  if (map != 0)
    uva__cmap_unref((uva__cmap_t *) (uintptr_t) map);
  else
    free(body);
}
