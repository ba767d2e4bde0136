// side.h: what the WorkerPool's bindings share (wpool.cc: threads,
// wproc.cc: processes): a side of a pool (its environment, the JS callback
// the core calls, the cleanup hook that closes it with its environment),
// and bytes between JS and the core.
#ifndef UVASYNC_SIDE_H
#define UVASYNC_SIDE_H

#include <stdlib.h>

#include <string>

#include "addon.h"
#include "../core/wpool.h"

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

// Bytes from the core as a Buffer: a large one owns them (no copy); a small
// one is a copy (cheaper than an external Buffer's finalizer and the weak
// reference the collector keeps for it), as is any where external memory is
// not allowed.
constexpr size_t kExternalMin = 4096;
inline napi_value Bytes(napi_env env, uint8_t *data, size_t len) {
  napi_value buf = nullptr;
  void *unused;
  if (data != nullptr && len >= kExternalMin &&
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

// A JS string as UTF-8 (false for a non-string).
inline bool Utf8(napi_env env, napi_value v, std::string *out) {
  size_t len = 0;
  if (napi_get_value_string_utf8(env, v, nullptr, 0, &len) != napi_ok) return false;
  out->assign(len + 1, '\0');
  napi_get_value_string_utf8(env, v, &(*out)[0], len + 1, &len);
  out->resize(len);
  return true;
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

// A pool's calls, for either kind (S holds the core's pool as `pool`):
// push(id, head, body?) → 0 or a negative error; cancel(id) → whether it
// was still queued; where(id) → the slot running it, or -1; reap(slot) →
// the id of the task that worker was running, or 0; counts() → [queued,
// running]; ref(bool): whether the pool holds the loop (while it has work).
template <typename S, typename P, int (*Push)(P *, uint64_t, const uva_wbuf_t *, const uva_wbuf_t *)>
napi_value PoolPushCall(napi_env env, napi_callback_info info) {
  size_t argc = 3;
  napi_value argv[3];
  S *s = SideOf<S>(env, info, &argc, argv);
  if (s->closed) return JsNum(env, UVA_EBADSTATE);
  uva_wbuf_t head, body;
  if (!BufArg(env, argv[1], &head) || !BufArg(env, argv[2], &body)) return JsNum(env, UV_EINVAL);
  return JsNum(env, Push(s->pool, (uint64_t)ArgNum(env, argv[0]), &head, &body));
}

template <typename S, typename P, int (*Cancel)(P *, uint64_t)>
napi_value PoolCancelCall(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  S *s = SideOf<S>(env, info, &argc, argv);
  napi_value v;
  napi_get_boolean(env, !s->closed && Cancel(s->pool, (uint64_t)ArgNum(env, argv[0])) == 1, &v);
  return v;
}

template <typename S, typename P, int (*Where)(P *, uint64_t)>
napi_value PoolWhereCall(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  S *s = SideOf<S>(env, info, &argc, argv);
  return JsNum(env, s->closed ? -1 : Where(s->pool, (uint64_t)ArgNum(env, argv[0])));
}

template <typename S, typename P, uint64_t (*Reap)(P *, int)>
napi_value PoolReapCall(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  S *s = SideOf<S>(env, info, &argc, argv);
  if (s->closed) return JsNum(env, 0);
  return JsNum(env, (double)Reap(s->pool, (int)ArgNum(env, argv[0])));
}

template <typename S, typename P, void (*Counts)(P *, size_t *, size_t *, size_t *)>
napi_value PoolCountsCall(napi_env env, napi_callback_info info) {
  S *s = SideOf<S>(env, info, nullptr, nullptr);
  size_t queued = 0, running = 0, starting = 0;
  if (!s->closed) Counts(s->pool, &queued, &running, &starting);
  napi_value arr;
  napi_create_array_with_length(env, 3, &arr);
  napi_set_element(env, arr, 0, JsNum(env, (double)queued));
  napi_set_element(env, arr, 1, JsNum(env, (double)running));
  napi_set_element(env, arr, 2, JsNum(env, (double)starting));
  return arr;
}

template <typename S, typename P, void (*Ref)(P *, int)>
napi_value PoolRefCall(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  S *s = SideOf<S>(env, info, &argc, argv);
  bool on = false;
  napi_get_value_bool(env, argv[0], &on);
  if (!s->closed) Ref(s->pool, on ? 1 : 0);
  return nullptr;
}

// A worker's calls, for either kind (S holds the core's worker as `w`):
// next() → [id, Buffer] or undefined; done(id, status, head, body?) → the
// next task the same way.
template <typename S, typename W, int (*Next)(W *, uint64_t *, uint8_t **, size_t *)>
napi_value WorkerNextCall(napi_env env, napi_callback_info info) {
  S *s = SideOf<S>(env, info, nullptr, nullptr);
  if (s->closed) return nullptr;
  uint64_t id = 0;
  uint8_t *data = nullptr;
  size_t len = 0;
  int got = Next(s->w, &id, &data, &len);
  return TaskPair(env, got, id, data, len);
}

template <typename S, typename W,
          int (*Done)(W *, uint64_t, int, const uva_wbuf_t *, const uva_wbuf_t *, uint64_t *, uint8_t **, size_t *)>
napi_value WorkerDoneCall(napi_env env, napi_callback_info info) {
  size_t argc = 4;
  napi_value argv[4];
  S *s = SideOf<S>(env, info, &argc, argv);
  if (s->closed) return nullptr;
  uva_wbuf_t head, body;
  if (!BufArg(env, argv[2], &head) || !BufArg(env, argv[3], &body)) {
    head.base = nullptr;
    head.len = 0;
    body = head;
  }
  uint64_t id = 0;
  uint8_t *data = nullptr;
  size_t len = 0;
  int got = Done(s->w, (uint64_t)ArgNum(env, argv[0]), (int)ArgNum(env, argv[1]), &head, &body, &id, &data, &len);
  return TaskPair(env, got, id, data, len);
}

// A constructor's start: its arguments, the Addon, and this environment's
// loop (NULL, with an exception thrown, when the environment is going away).
inline uv_loop_t *LoopOf(napi_env env, napi_callback_info info, size_t *argc, napi_value *argv, Addon **addon) {
  void *data = nullptr;
  uv_loop_t *loop = nullptr;
  napi_get_cb_info(env, info, argc, argv, nullptr, &data);
  *addon = static_cast<Addon *>(data);
  if ((*addon)->core()->exiting || napi_get_uv_event_loop(env, &loop) != napi_ok) {
    napi_throw_error(env, "ERR_INVALID_STATE", "uvasync: the environment is going away");
    return nullptr;
  }
  return loop;
}

}  // namespace uvasync

#endif  // UVASYNC_SIDE_H
