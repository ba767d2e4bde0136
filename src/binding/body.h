// body.h: a response body's bytes as JS values (body.cc).
#ifndef UVASYNC_BODY_H_
#define UVASYNC_BODY_H_

#include <cstddef>
#include <cstdint>

#include <node_api.h>

#include "../core/uva.h"

namespace uvasync {

// Bodies up to this many bytes are copied into a Buffer of Node's own;
// larger ones become external Buffers over the core's memory.  Measured on
// 100-byte bodies at concurrency 16: 30.5 -> 26.2 µs of CPU a request; on
// 16 KiB both ways cost the same, on 64 KiB the copy ~1 µs more.
constexpr size_t kCopyBodyMax = 16 * 1024;

// A body as a Buffer; takes `body` (`map`: as uva_freq_take_body_map says).
napi_value BodyBuffer(napi_env env, uint8_t *body, size_t len, size_t map = 0);

// A chunk of a streamed body: one Buffer, or an array of its pieces (at
// most kPieceMax bytes each) when it is a large mapped one.  Takes `body`.
napi_value ChunkValue(napi_env env, uint8_t *body, size_t len, size_t map);

}  // namespace uvasync

#endif  // UVASYNC_BODY_H_
