// wproc.cc: the binding of the WorkerPool's process kind (src/core/wproc.h).
//
// The pool's side: newProcPool(onResults, onEvent) → { spawn, push,
// cancel, where, stop, reap, counts, ref, close }.  onResults(list) as for
// threads; onEvent(slot, event, status, signal, Buffer?) tells of a child
// (1 ready, 2 failed to start with why, 3 exited).  The child's side:
// childAttach(fd, onTask) → { next, done, send, close }; onTask(id, Buffer)
// brings a task to an idle child, and onTask(0) the end of the pool.
#include <string>
#include <vector>

#include "../core/wproc.h"
#include "side.h"

namespace uvasync {

struct ProcSide : Side {
  uva_wproc_t *pool = nullptr;
  napi_ref event = nullptr;
};

struct ChildSide : Side {
  uva_wchild_t *w = nullptr;
};

// ---- The pool's side ------------------------------------------------------

static bool Gone(Side *s) { return s->core->exiting || s->cb == nullptr; }

static void OnProcResults(uva_wproc_t *pool, uva_wresult_t *results, size_t count) {
  ProcSide *s = static_cast<ProcSide *>(uva_wproc_data(pool));
  if (Gone(s)) {
    for (size_t i = 0; i < count; i++) free(results[i].data);
    free(results);
    return;
  }
  napi_handle_scope scope;
  napi_open_handle_scope(s->env, &scope);
  napi_value list = ResultList(s->env, results, count);
  CallSide(s, 1, &list);
  napi_close_handle_scope(s->env, scope);
}

static void OnProcEvent(uva_wproc_t *pool, int slot, int event, int64_t status, int signal, uint8_t *data,
                        size_t len) {
  ProcSide *s = static_cast<ProcSide *>(uva_wproc_data(pool));
  if (Gone(s)) {
    free(data);
    return;
  }
  napi_env env = s->env;
  napi_handle_scope scope;
  napi_open_handle_scope(env, &scope);
  napi_value argv[5] = {JsNum(env, slot), JsNum(env, event), JsNum(env, (double)status), JsNum(env, signal),
                        nullptr};
  if (data != nullptr)
    argv[4] = Bytes(env, data, len);
  else
    napi_get_undefined(env, &argv[4]);
  napi_value fn, recv;
  napi_get_reference_value(env, s->event, &fn);
  napi_get_global(env, &recv);
  CallFromLoop(s->core, env, s->ctx, recv, fn, 5, argv);
  napi_close_handle_scope(env, scope);
}

static void CloseProcPool(ProcSide *s) {
  bool live = !s->core->exiting;
  if (!StartClosing(s)) return;
  if (live) napi_delete_reference(s->env, s->event);
  s->event = nullptr;
  uva_wproc_close(s->pool, SideClosed<ProcSide>);
}

static void ProcCleanup(napi_async_cleanup_hook_handle handle, void *arg) {
  (void)handle;
  CloseProcPool(static_cast<ProcSide *>(arg));
}

// A JS array of strings as a NULL-terminated list (the strings in `keep`).
static bool Strings(napi_env env, napi_value arr, std::vector<std::string> *keep, std::vector<char *> *out) {
  bool is = false;
  napi_is_array(env, arr, &is);
  if (!is) return false;
  uint32_t n = 0;
  napi_get_array_length(env, arr, &n);
  keep->resize(n);
  for (uint32_t i = 0; i < n; i++) {
    napi_value v;
    napi_get_element(env, arr, i, &v);
    if (!Utf8(env, v, &(*keep)[i])) return false;
  }
  for (auto &k : *keep) out->push_back(&k[0]);
  out->push_back(nullptr);
  return true;
}

// spawn(file, args, env?) → a slot, or a negative error.
static napi_value ProcSpawn(napi_env env, napi_callback_info info) {
  size_t argc = 3;
  napi_value argv[3];
  ProcSide *s = SideOf<ProcSide>(env, info, &argc, argv);
  if (s->closed) return JsNum(env, UVA_EBADSTATE);
  std::vector<std::string> file, args, vars;
  std::vector<char *> f, a, e;
  napi_value one;
  napi_create_array_with_length(env, 1, &one);
  napi_set_element(env, one, 0, argv[0]);
  napi_valuetype t;
  napi_typeof(env, argv[2], &t);
  if (!Strings(env, one, &file, &f) || !Strings(env, argv[1], &args, &a) ||
      (t != napi_undefined && !Strings(env, argv[2], &vars, &e)))
    return JsNum(env, UV_EINVAL);
  return JsNum(env, uva_wproc_spawn(s->pool, f[0], a.data(), t == napi_undefined ? nullptr : e.data()));
}

// stop(slot, signal): 0 ends the child's fd 3, else that signal.
static napi_value ProcStop(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2];
  ProcSide *s = SideOf<ProcSide>(env, info, &argc, argv);
  if (s->closed) return JsNum(env, UVA_EBADSTATE);
  return JsNum(env, uva_wproc_stop(s->pool, (int)ArgNum(env, argv[0]), (int)ArgNum(env, argv[1])));
}

static napi_value ProcClose(napi_env env, napi_callback_info info) {
  CloseProcPool(SideOf<ProcSide>(env, info, nullptr, nullptr));
  return nullptr;
}

static napi_value NewProcPool(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2];
  Addon *addon;
  uv_loop_t *loop = LoopOf(env, info, &argc, argv, &addon);
  if (loop == nullptr) return nullptr;
  ProcSide *s = new ProcSide();
  if (uva_wproc_new(loop, OnProcResults, OnProcEvent, s, &s->pool) != 0) {
    delete s;
    napi_throw_error(env, "ENOMEM", "uvasync: out of memory");
    return nullptr;
  }
  OpenSide(s, env, addon->core(), argv[0], "uvasync.WorkerPool.process", ProcCleanup);
  napi_create_reference(env, argv[1], 1, &s->event);
  napi_value obj;
  napi_create_object(env, &obj);
  napi_property_descriptor props[] = {
      {"spawn", nullptr, ProcSpawn, nullptr, nullptr, nullptr, napi_default, s},
      {"push", nullptr, PoolPushCall<ProcSide, uva_wproc_t, uva_wproc_push>, nullptr, nullptr, nullptr, napi_default, s},
      {"cancel", nullptr, PoolCancelCall<ProcSide, uva_wproc_t, uva_wproc_cancel>, nullptr, nullptr, nullptr, napi_default, s},
      {"where", nullptr, PoolWhereCall<ProcSide, uva_wproc_t, uva_wproc_where>, nullptr, nullptr, nullptr, napi_default, s},
      {"stop", nullptr, ProcStop, nullptr, nullptr, nullptr, napi_default, s},
      {"reap", nullptr, PoolReapCall<ProcSide, uva_wproc_t, uva_wproc_reap>, nullptr, nullptr, nullptr, napi_default, s},
      {"counts", nullptr, PoolCountsCall<ProcSide, uva_wproc_t, uva_wproc_counts>, nullptr, nullptr, nullptr, napi_default, s},
      {"ref", nullptr, PoolRefCall<ProcSide, uva_wproc_t, uva_wproc_ref>, nullptr, nullptr, nullptr, napi_default, s},
      {"close", nullptr, ProcClose, nullptr, nullptr, nullptr, napi_default, s},
  };
  napi_define_properties(env, obj, sizeof(props) / sizeof(props[0]), props);
  return obj;
}

// ---- The child's side -----------------------------------------------------

static void OnChildTask(uva_wchild_t *c, uint64_t id, uint8_t *data, size_t len) {
  ChildSide *s = static_cast<ChildSide *>(uva_wchild_data(c));
  if (Gone(s)) {
    free(data);
    return;
  }
  napi_env env = s->env;
  napi_handle_scope scope;
  napi_open_handle_scope(env, &scope);
  napi_value argv[2] = {JsNum(env, (double)id), nullptr};
  if (id != 0)
    argv[1] = Bytes(env, data, len);
  else
    napi_get_undefined(env, &argv[1]);
  CallSide(s, 2, argv);
  napi_close_handle_scope(env, scope);
}

static void CloseChild(ChildSide *s) {
  if (StartClosing(s)) uva_wchild_close(s->w, SideClosed<ChildSide>);
}

static void ChildCleanup(napi_async_cleanup_hook_handle handle, void *arg) {
  (void)handle;
  CloseChild(static_cast<ChildSide *>(arg));
}

// send(type, body?): READY (3) or FAILED (4) to the pool.
static napi_value ChildSend(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2];
  ChildSide *s = SideOf<ChildSide>(env, info, &argc, argv);
  if (s->closed) return JsNum(env, UVA_EBADSTATE);
  uva_wbuf_t body;
  if (!BufArg(env, argv[1], &body)) return JsNum(env, UV_EINVAL);
  int type = (int)ArgNum(env, argv[0]);
  if (type != UVA_WFRAME_READY && type != UVA_WFRAME_FAILED) return JsNum(env, UV_EINVAL);
  return JsNum(env, uva_wchild_send(s->w, type, &body));
}

static napi_value ChildClose(napi_env env, napi_callback_info info) {
  CloseChild(SideOf<ChildSide>(env, info, nullptr, nullptr));
  return nullptr;
}

static napi_value ChildAttach(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2];
  Addon *addon;
  uv_loop_t *loop = LoopOf(env, info, &argc, argv, &addon);
  if (loop == nullptr) return nullptr;
  ChildSide *s = new ChildSide();
  int err = uva_wchild_open(loop, (int)ArgNum(env, argv[0]), OnChildTask, s, &s->w);
  if (s->w == nullptr) {
    delete s;
    napi_throw_error(env, "ERR_INVALID_STATE", "uvasync: no pool to attach to (fd 3)");
    return nullptr;
  }
  OpenSide(s, env, addon->core(), argv[1], "uvasync.WorkerPool.child", ChildCleanup);
  if (err != 0) {
    CloseChild(s);
    napi_throw_error(env, "ERR_INVALID_STATE", "uvasync: no pool to attach to (fd 3)");
    return nullptr;
  }
  napi_value obj;
  napi_create_object(env, &obj);
  napi_property_descriptor props[] = {
      {"next", nullptr, WorkerNextCall<ChildSide, uva_wchild_t, uva_wchild_next>, nullptr, nullptr, nullptr, napi_default, s},
      {"done", nullptr, WorkerDoneCall<ChildSide, uva_wchild_t, uva_wchild_done>, nullptr, nullptr, nullptr, napi_default, s},
      {"send", nullptr, ChildSend, nullptr, nullptr, nullptr, napi_default, s},
      {"close", nullptr, ChildClose, nullptr, nullptr, nullptr, napi_default, s},
  };
  napi_define_properties(env, obj, sizeof(props) / sizeof(props[0]), props);
  return obj;
}

void InitProcPool(Napi::Env env, Napi::Object exports, Addon *addon) {
  napi_value fn;
  napi_create_function(env, "newProcPool", NAPI_AUTO_LENGTH, NewProcPool, addon, &fn);
  exports.Set("newProcPool", Napi::Value(env, fn));
  napi_create_function(env, "childAttach", NAPI_AUTO_LENGTH, ChildAttach, addon, &fn);
  exports.Set("childAttach", Napi::Value(env, fn));
}

}  // namespace uvasync
