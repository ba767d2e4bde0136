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
 * A fresh mapping is zeroed by the kernel a page fault at a time (a fifth
 * of the CPU of such a download), so the last 4 freed are kept for the
 * next ones, process-wide (Buffers are freed on their environment's
 * thread), and let go when an engine goes idle (uva__chunk_trim).  More
 * kept cost memory when V8 frees many at once: a 1 GiB body through
 * res.body peaked at 40-52 MiB with 4 kept, 49-59 with 8, 65-80 with 16
 * (libcurl 7.88; 8.14: 21-28 MiB with 4), for CPU within the noise. */
#include <stdint.h>
#include <stdlib.h>
#include <sys/mman.h>

#include "fetch_internal.h"

#define HUGE (2u * 1024 * 1024)
#define KEEP 4

static uv_once_t keep_once = UV_ONCE_INIT;
static uv_mutex_t keep_lock;
static void *keep[KEEP];
static size_t keep_size[KEEP];
static int nkeep;

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
  for (i = nkeep - 1; i >= 0; i--) {
    if (keep_size[i] == n) {
      p = keep[i];
      keep[i] = keep[nkeep - 1];
      keep_size[i] = keep_size[nkeep - 1];
      nkeep--;
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

void uva_body_free(void *body, size_t map) {
  if (body == NULL)
    return;
  if (map == 0) {
    free(body);
    return;
  }
  uv_once(&keep_once, keep_init);
  uv_mutex_lock(&keep_lock);
  if (nkeep < KEEP) {
    keep[nkeep] = body;
    keep_size[nkeep++] = map;
    body = NULL;
  }
  uv_mutex_unlock(&keep_lock);
  if (body != NULL)
    munmap(body, map);
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
  uv_mutex_unlock(&keep_lock);
  for (i = 0; i < n; i++)
    munmap(out[i], sizes[i]);
}
