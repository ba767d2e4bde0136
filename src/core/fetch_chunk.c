/* fetch_chunk.c: memory for the chunks of a large streamed body, a loop
 * turn's worth each (UVA_FETCH_TURN_BYTES).
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
 * pages, as mincore counts them.  32 MiB is what V8 lets pile up in young
 * ArrayBuffers before it scavenges (src/binding/fetch.cc), about what one
 * scavenge frees.  A 1 GiB body through res.body went from 0.75 to 0.46 ms
 * of CPU a MiB keeping 128 mappings instead of 4; on libcurl 7.88 (chunks
 * of 1.6-2.5 MiB) keeping 48 MiB peaked at 57-64 MiB over the baseline,
 * 32 MiB at 50-52 for the same CPU, and 24 MiB faulted again (+20 % CPU).
 * Kept mappings are let go when an
 * engine goes idle (uva__chunk_trim), and from then on a freed one is
 * unmapped until a transfer maps again, so that a body's garbage collected
 * after its download does not stay with the process. */
#include <stdint.h>
#include <stdlib.h>
#include <sys/mman.h>

#include "fetch_internal.h"

#define HUGE (2u * 1024 * 1024)
#define PAGE 4096u
#define KEEP 256                 /* 1 GiB of 4 MiB mappings at most... */
#define KEEP_BYTES (32u << 20)   /* ...and 32 MiB of their pages. */
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
static size_t kept_bytes;
static int nkeep;
static int keeping;  /* 0 after a trim, until a transfer maps again. */

static void keep_init(void) {
  if (uv_mutex_init(&keep_lock) != 0)
    abort();  /* An invariant of the system's: no mutex, no process. */
}

void *uva__chunk_map(size_t *size) {
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
      keep_resident[i] = keep_resident[nkeep];
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
  return (void *) aligned;
}

/* The pages of a mapping that are in memory (touched since it was made). */
static size_t resident(void *p, size_t size) {
  unsigned char vec[MAX_PAGES];
  size_t pages = size / PAGE;
  size_t n = 0;
  size_t i;
  if (pages > MAX_PAGES || mincore(p, size, vec) != 0)
    return SIZE_MAX;
  for (i = 0; i < pages; i++)
    n += vec[i] & 1;
  return n * PAGE;
}

void uva_body_free(void *body, size_t map) {
  size_t res;
  if (body == NULL)
    return;
  if (map == 0) {
    free(body);
    return;
  }
  uv_once(&keep_once, keep_init);
  /* Its pages are counted (a system call) only when it may be kept. */
  uv_mutex_lock(&keep_lock);
  res = keeping && nkeep < KEEP && kept_bytes < KEEP_BYTES ? 0 : SIZE_MAX;
  uv_mutex_unlock(&keep_lock);
  if (res == 0)
    res = resident(body, map);
  uv_mutex_lock(&keep_lock);
  if (res != SIZE_MAX && keeping && nkeep < KEEP && res <= KEEP_BYTES - kept_bytes) {
    keep[nkeep] = body;
    keep_size[nkeep] = map;
    keep_resident[nkeep++] = res;
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
