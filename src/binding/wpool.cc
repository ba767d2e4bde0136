// wpool.cc: the WorkerPool's binding over the core's shared task queue.
//
// The main side: newWorkerPool(onResults) → { address, reserve, push,
// cancel, where, reap, counts, ref, close }.  onResults(list) gets
// [id, status, Buffer, id, status, Buffer, ...] once per batch.  A worker
// thread: workerAttach(address, slot, onTask) → { next, done, detach };
// onTask(id, Buffer) brings a task to an idle worker, and done() returns
// the next one as [id, Buffer] while there is one (no wake-up per task).
// Payloads are bytes (lib/ serializes); a Buffer handed over owns the
// core's copy.  Each side closes in its environment's async cleanup hook
// if its JS has not closed it, so a terminated worker detaches itself.
#include <stdlib.h>

#include "side.h"

namespace uvasync {

struct PoolSide : Side {
  uva_wpool_t *pool = nullptr;
};

struct WorkerSide : Side {
  uva_wworker_t *w = nullptr;
};

// ---- Main side ------------------------------------------------------------

static void OnResults(uva_wpool_t *pool, uva_wresult_t *results, size_t count) {
  PoolSide *s = static_cast<PoolSide *>(uva_wpool_data(pool));
  if (s->core->exiting || s->cb == nullptr) {
    for (size_t i = 0; i < count; i++) free(results[i].data);
    free(results);
    return;
  }
  napi_env env = s->env;
  napi_handle_scope scope;
  napi_open_handle_scope(env, &scope);
  napi_value list = ResultList(env, results, count);
  CallSide(s, 1, &list);
  napi_close_handle_scope(env, scope);
}

static void ClosePool(PoolSide *s) {
  if (StartClosing(s)) uva_wpool_close(s->pool, SideClosed<PoolSide>);
}

// The environment goes away: the pool closes, and its close callback
// removes the hook (as it does when JS closed it first).
static void PoolCleanup(napi_async_cleanup_hook_handle handle, void *arg) {
  (void)handle;
  ClosePool(static_cast<PoolSide *>(arg));
}

static napi_value PoolAddress(napi_env env, napi_callback_info info) {
  PoolSide *s = SideOf<PoolSide>(env, info, nullptr, nullptr);
  napi_value v;
  napi_create_bigint_uint64(env, s->closed ? 0 : (uint64_t)(uintptr_t)s->pool, &v);
  return v;
}

static napi_value PoolReserve(napi_env env, napi_callback_info info) {
  PoolSide *s = SideOf<PoolSide>(env, info, nullptr, nullptr);
  return JsNum(env, s->closed ? UVA_EBADSTATE : uva_wpool_reserve(s->pool));
}

static napi_value PoolClose(napi_env env, napi_callback_info info) {
  PoolSide *s = SideOf<PoolSide>(env, info, nullptr, nullptr);
  ClosePool(s);
  return nullptr;
}

static napi_value NewWorkerPool(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  Addon *addon;
  uv_loop_t *loop = LoopOf(env, info, &argc, argv, &addon);
  if (loop == nullptr) return nullptr;
  PoolSide *s = new PoolSide();
  if (uva_wpool_new(loop, OnResults, s, &s->pool) != 0) {
    delete s;
    napi_throw_error(env, "ENOMEM", "uvasync: out of memory");
    return nullptr;
  }
  OpenSide(s, env, addon->core(), argv[0], "uvasync.WorkerPool", PoolCleanup);
  napi_value obj;
  napi_create_object(env, &obj);
  napi_property_descriptor props[] = {
      {"address", nullptr, PoolAddress, nullptr, nullptr, nullptr, napi_default, s},
      {"reserve", nullptr, PoolReserve, nullptr, nullptr, nullptr, napi_default, s},
      {"push", nullptr, PoolPushCall<PoolSide, uva_wpool_t, uva_wpool_push>, nullptr, nullptr, nullptr, napi_default, s},
      {"cancel", nullptr, PoolCancelCall<PoolSide, uva_wpool_t, uva_wpool_cancel>, nullptr, nullptr, nullptr, napi_default, s},
      {"where", nullptr, PoolWhereCall<PoolSide, uva_wpool_t, uva_wpool_where>, nullptr, nullptr, nullptr, napi_default, s},
      {"reap", nullptr, PoolReapCall<PoolSide, uva_wpool_t, uva_wpool_reap>, nullptr, nullptr, nullptr, napi_default, s},
      {"counts", nullptr, PoolCountsCall<PoolSide, uva_wpool_t, uva_wpool_counts>, nullptr, nullptr, nullptr, napi_default, s},
      {"ref", nullptr, PoolRefCall<PoolSide, uva_wpool_t, uva_wpool_ref>, nullptr, nullptr, nullptr, napi_default, s},
      {"close", nullptr, PoolClose, nullptr, nullptr, nullptr, napi_default, s},
  };
  napi_define_properties(env, obj, sizeof(props) / sizeof(props[0]), props);
  return obj;
}

// ---- Worker side ----------------------------------------------------------

static void OnTask(uva_wworker_t *w, uint64_t id, uint8_t *data, size_t len) {
  WorkerSide *s = static_cast<WorkerSide *>(uva_wworker_data(w));
  if (s->core->exiting || s->cb == nullptr) {
    free(data);
    return;
  }
  napi_env env = s->env;
  napi_handle_scope scope;
  napi_open_handle_scope(env, &scope);
  napi_value argv[2] = {JsNum(env, (double)id), Bytes(env, data, len)};
  CallSide(s, 2, argv);
  napi_close_handle_scope(env, scope);
}

static void Detach(WorkerSide *s) {
  if (StartClosing(s)) uva_wworker_detach(s->w, SideClosed<WorkerSide>);
}

static void WorkerCleanup(napi_async_cleanup_hook_handle handle, void *arg) {
  (void)handle;
  Detach(static_cast<WorkerSide *>(arg));
}

static napi_value WorkerDetach(napi_env env, napi_callback_info info) {
  WorkerSide *s = SideOf<WorkerSide>(env, info, nullptr, nullptr);
  Detach(s);
  return nullptr;
}

static napi_value WorkerAttach(napi_env env, napi_callback_info info) {
  size_t argc = 3;
  napi_value argv[3];
  void *data = nullptr;
  napi_get_cb_info(env, info, &argc, argv, nullptr, &data);
  Addon *addon = static_cast<Addon *>(data);
  uint64_t address = 0;
  bool lossless = false;
  uv_loop_t *loop = nullptr;
  if (napi_get_value_bigint_uint64(env, argv[0], &address, &lossless) != napi_ok || address == 0 ||
      addon->core()->exiting || napi_get_uv_event_loop(env, &loop) != napi_ok) {
    napi_throw_error(env, "ERR_INVALID_STATE", "uvasync: no pool to attach to");
    return nullptr;
  }
  WorkerSide *s = new WorkerSide();
  int err = uva_wworker_attach((uintptr_t)address, (int)ArgNum(env, argv[1]), loop, OnTask, s, &s->w);
  if (err != 0) {
    delete s;
    napi_throw_error(env, "ERR_INVALID_STATE", "uvasync: the pool is closed");
    return nullptr;
  }
  OpenSide(s, env, addon->core(), argv[2], "uvasync.WorkerPool.worker", WorkerCleanup);
  napi_value obj;
  napi_create_object(env, &obj);
  napi_property_descriptor props[] = {
      {"next", nullptr, WorkerNextCall<WorkerSide, uva_wworker_t, uva_wworker_next>, nullptr, nullptr, nullptr, napi_default, s},
      {"done", nullptr, WorkerDoneCall<WorkerSide, uva_wworker_t, uva_wworker_done>, nullptr, nullptr, nullptr, napi_default, s},
      {"detach", nullptr, WorkerDetach, nullptr, nullptr, nullptr, napi_default, s},
  };
  napi_define_properties(env, obj, sizeof(props) / sizeof(props[0]), props);
  return obj;
}

void InitWorkerPool(Napi::Env env, Napi::Object exports, Addon *addon) {
  napi_value fn;
  napi_create_function(env, "newWorkerPool", NAPI_AUTO_LENGTH, NewWorkerPool, addon, &fn);
  exports.Set("newWorkerPool", Napi::Value(env, fn));
  napi_create_function(env, "workerAttach", NAPI_AUTO_LENGTH, WorkerAttach, addon, &fn);
  exports.Set("workerAttach", Napi::Value(env, fn));
}

}  // namespace uvasync
