// body.cc: a response body's bytes as JS values: a Buffer over the core's
// memory when large (its free callback gives it back), else a copy; a
// streamed body's large chunk in pieces.  Used by fetch.cc.
#include <cstdlib>
#include <new>

#include "body.h"

namespace uvasync {

static void FreeBody(napi_env env, void *data, void *hint) {
  (void)env;
  (void)hint;
  free(data);
}

// A mapped chunk (src/core/fetch_chunk.c) goes back to the core's cache
// once V8 has collected its Buffer.
static void FreeMapped(napi_env env, void *data, void *hint) {
  (void)env;
  uva_body_free(data, (size_t)(uintptr_t)hint);
}

// V8 collects its young generation, a scavenge of a fraction of a ms, once
// the young ArrayBuffers hold twice the semi-space (32 MiB), but it checks
// that only when a buffer is allocated through its own allocator, which an
// external Buffer never is.  Without a check the chunks of a large body
// piled up until external memory forced a full collection, every 10-40 MiB
// (16-98 of them for a 1 GiB body, a third of its CPU).  So each mapped
// chunk comes with a 1-byte Buffer from V8's allocator: the check runs, and
// the chunks the reader is done with go in scavenges (36 for 1 GiB, no full
// collection; bench/RESULTS.md).
static void LetV8Check(napi_env env) {
  napi_value buf;
  void *unused;
  napi_create_buffer(env, 1, &unused, &buf);
}

// A body chunk as a Buffer: the core's memory itself when large (over
// kCopyBodyMax, body.h), else a copy.  Takes `body` (`map`: as
// uva_freq_take_body_map says).
napi_value BodyBuffer(napi_env env, uint8_t *body, size_t len, size_t map) {
  napi_value buf = nullptr;
  if (len > kCopyBodyMax && map > 0 &&
      napi_create_external_buffer(env, len, body, FreeMapped, (void *)(uintptr_t)map, &buf) == napi_ok) {
    LetV8Check(env);
    return buf;
  }
  if (len > kCopyBodyMax && map == 0 &&
      napi_create_external_buffer(env, len, body, FreeBody, nullptr, &buf) == napi_ok) {
    // The Buffer owns the body now.  (Where external memory is not
    // allowed, the call fails and the body is copied as a small one.)
    return buf;
  }
  void *unused;
  if (len > 0)
    napi_create_buffer_copy(env, len, body, nullptr, &buf);
  else
    napi_create_buffer(env, 0, &unused, &buf);
  uva_body_free(body, map);
  return buf;
}

// A streamed body's mapped chunk goes to JS in pieces of at most kPieceMax,
// each an external Buffer over its part of the mapping, which goes back to
// the core when the last of them is collected.  A turn's chunk is up to
// 4 MiB (UVA_FETCH_TURN_BYTES).  A byte stream takes (detaches) the whole
// ArrayBuffer of a chunk, so the pieces cannot be views of one.
// The size is set by readers that write each piece to a file as it comes
// (a pipeline into fs.createWriteStream: a write() a piece).  On a Linux
// 6.18 VM whose ext4 page cache takes large folios, a write() of 1 MiB
// cost 4-6x the system time of 256 KiB ones: 1 GiB written from one warm
// buffer took 0.6-1.9 s against 0.16-0.26 s, nearly all of it the copy
// into the page cache's new folios.  The likely cause: this VM hands its
// large free blocks back to the host (virtio-balloon free page reporting
// is on), and a large folio is more often cut from one, whose first touch
// then faults in the host.  1 GiB through res.body into a file
// took 1.08-1.29 s of CPU in 256 KiB pieces, 1.53-2.22 s in 1 MiB and
// 1.10-2.07 s in 2 MiB (5 rounds, alternated; 128 KiB: 1.29-1.56 s in 3),
// where Node's fetch (64 KiB chunks, 128 KiB writes) took 2.36-3.88 s.
// An earlier run, in a kernel state that favoured large writes, had put
// 1-2 MiB first (1.04-1.14 ms a MiB) and 512 KiB at 1.34.  In
// bench/fetch-memory.mjs's rounds, each after other contenders' 1 GiB
// files, the sizes came out even: medians of 1.60 and 1.24 ms a MiB in
// 256 KiB pieces, 1.47 and 1.27 in 1 MiB, 1.20 in 512 KiB (two runs of 5
// and 6 rounds, libcurl 7.88.1).  256 KiB, for the runs where the size
// told.
static constexpr size_t kPieceMax = 256 * 1024;

struct Pieces {
  uint8_t *body;
  size_t map;
  size_t left;  // Pieces not yet collected (finalizers run on this thread).
};

static void FreePiece(napi_env env, void *data, void *hint) {
  (void)env;
  (void)data;
  Pieces *p = static_cast<Pieces *>(hint);
  if (--p->left == 0) {
    uva_body_free(p->body, p->map);
    delete p;
  }
}

// A chunk of a streamed body: one Buffer, or an array of its pieces.
napi_value ChunkValue(napi_env env, uint8_t *body, size_t len, size_t map) {
  if (map == 0 || len <= kPieceMax) return BodyBuffer(env, body, len, map);
  size_t n = (len + kPieceMax - 1) / kPieceMax;
  Pieces *p = new (std::nothrow) Pieces{body, map, n + 1};  // +1: held while made.
  napi_value arr;
  if (p == nullptr || napi_create_array_with_length(env, n, &arr) != napi_ok) {
    delete p;
    return BodyBuffer(env, body, len, map);
  }
  for (size_t i = 0; i < n; i++) {
    size_t at = i * kPieceMax;
    size_t size = len - at < kPieceMax ? len - at : kPieceMax;
    napi_value buf;
    if (napi_create_external_buffer(env, size, body + at, FreePiece, p, &buf) != napi_ok) {
      // Where external memory is not allowed: a copy of this piece.
      void *unused;
      p->left--;
      if (napi_create_buffer_copy(env, size, body + at, &unused, &buf) != napi_ok) continue;
    }
    napi_set_element(env, arr, (uint32_t)i, buf);
  }
  LetV8Check(env);
  FreePiece(env, nullptr, p);  // Made: only the pieces hold it now.
  return arr;
}

}  // namespace uvasync
