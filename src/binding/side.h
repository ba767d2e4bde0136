// side.h: what the WorkerPool's bindings share (wpool.cc: threads,
// wproc.cc: processes): a side of a pool (its environment, the JS callback
// the core calls, the cleanup hook that closes it with its environment),
// and bytes between JS and the core.
#ifndef UVASYNC_SIDE_H
#define UVASYNC_SIDE_H

#include <stdlib.h>

#include "addon.h"

namespace uvasync {

// What both sides hold: their environment, the JS callback the core's
// callback calls, and the cleanup hook that closes them with it.
struct Side {
  EnvCore *core = nullptr;
  napi_env env = nullptr;
  napi_ref cb = nullptr;
  napi_async_context ctx = nullptr;
  napi_async_cleanup_hook_handle hook = nullptr;
  bool closed = false;
};

// Calls the side's JS callback from its loop (a handle scope open).
inline void CallSide(Side *s, size_t argc, const napi_value *argv) {
  napi_value fn, recv;
  napi_get_reference_value(s->env, s->cb, &fn);
  napi_get_global(s->env, &recv);
  CallFromLoop(s->core, s->env, s->ctx, recv, fn, argc, argv);
}

// Starts closing a side: its callback goes (no JS is called from then on).
inline bool StartClosing(Side *s) {
  if (s->closed) return false;
  s->closed = true;
  if (s->cb != nullptr && !s->core->exiting) {
    napi_delete_reference(s->env, s->cb);
    napi_async_destroy(s->env, s->ctx);
  }
  s->cb = nullptr;
  return true;
}

// The core has closed a side's handle: the hook goes, and the side.
template <typename T>
inline void SideClosed(void *data) {
  T *s = static_cast<T *>(data);
  if (s->hook != nullptr) {
    napi_remove_async_cleanup_hook(s->hook);
    s->hook = nullptr;
  }
  s->core->refs--;
  s->core->MaybeDelete();
  delete s;
}

// A side's start: its callback, async context and cleanup hook.
inline void OpenSide(Side *s, napi_env env, EnvCore *core, napi_value cb, const char *name,
                     napi_async_cleanup_hook hook) {
  s->core = core;
  s->env = env;
  core->refs++;
  napi_create_reference(env, cb, 1, &s->cb);
  napi_value n;
  napi_create_string_utf8(env, name, NAPI_AUTO_LENGTH, &n);
  napi_async_init(env, nullptr, n, &s->ctx);
  napi_add_async_cleanup_hook(env, hook, s, &s->hook);
}

inline void FreeBytes(napi_env env, void *data, void *hint) {
  (void)env;
  (void)hint;
  free(data);
}

// Bytes from the core as a Buffer that owns them (a copy where external
// memory is not allowed).
inline napi_value Bytes(napi_env env, uint8_t *data, size_t len) {
  napi_value buf = nullptr;
  void *unused;
  if (data != nullptr && len > 0 &&
      napi_create_external_buffer(env, len, data, FreeBytes, nullptr, &buf) == napi_ok)
    return buf;
  if (data != nullptr && len > 0)
    napi_create_buffer_copy(env, len, data, nullptr, &buf);
  else
    napi_create_buffer(env, 0, &unused, &buf);
  free(data);
  return buf;
}


template <typename T>
inline T *SideOf(napi_env env, napi_callback_info info, size_t *argc, napi_value *argv) {
  void *data = nullptr;
  size_t none = 0;
  napi_get_cb_info(env, info, argc != nullptr ? argc : &none, argv, nullptr, &data);
  return static_cast<T *>(data);
}

// A Buffer or Uint8Array argument as bytes (undefined: none).
inline bool BufArg(napi_env env, napi_value v, uva_wbuf_t *out) {
  napi_valuetype t;
  napi_typeof(env, v, &t);
  out->base = nullptr;
  out->len = 0;
  if (t == napi_undefined) return true;
  bool is = false;
  napi_is_typedarray(env, v, &is);
  if (!is) return false;
  napi_typedarray_type type;
  size_t len = 0;
  void *data = nullptr;
  napi_value ab;
  size_t off = 0;
  if (napi_get_typedarray_info(env, v, &type, &len, &data, &ab, &off) != napi_ok || type != napi_uint8_array)
    return false;
  out->base = data;
  out->len = len;
  return true;
}

// [id, Buffer] for a task the core gave, or undefined.
inline napi_value TaskPair(napi_env env, int got, uint64_t id, uint8_t *data, size_t len) {
  if (got != 1) return nullptr;
  napi_value arr;
  napi_create_array_with_length(env, 2, &arr);
  napi_set_element(env, arr, 0, JsNum(env, (double)id));
  napi_set_element(env, arr, 1, Bytes(env, data, len));
  return arr;
}

// A batch of results as [id, status, Buffer, id, status, Buffer, ...]; the
// results' memory goes to the Buffers, the array is freed.
inline napi_value ResultList(napi_env env, uva_wresult_t *results, size_t count) {
  napi_value list;
  napi_create_array_with_length(env, count * 3, &list);
  for (size_t i = 0; i < count; i++) {
    napi_set_element(env, list, (uint32_t)(i * 3), JsNum(env, (double)results[i].id));
    napi_set_element(env, list, (uint32_t)(i * 3 + 1), JsNum(env, results[i].status));
    napi_set_element(env, list, (uint32_t)(i * 3 + 2), Bytes(env, results[i].data, results[i].len));
  }
  free(results);
  return list;
}

}  // namespace uvasync

#endif  // UVASYNC_SIDE_H
