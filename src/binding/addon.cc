// addon.cc: per-environment state, init and teardown.
//
// Every Node environment (the main thread and each worker) gets its own
// Addon and its own timer set on that environment's loop.  An async cleanup
// hook closes the timer set when the environment goes away, so terminating
// a worker with timers pending neither crashes nor leaks.
#include "addon.h"

#include <node_api.h>

namespace uvasync {

static constexpr size_t kFiredCap = 4096;

static void OnCoreTimers(uva_timers_t *timers, const uint32_t *ids,
                         size_t count) {
  EnvCore *core = static_cast<EnvCore *>(timers->data);
  if (core->exiting || core->addon == nullptr) return;
  core->addon->OnTimers(ids, count);
}

static void OnPartClosed(EnvCore *core) {
  if (--core->closing > 0) return;
  core->closed = true;
  if (core->hook != nullptr) {
    napi_remove_async_cleanup_hook(core->hook);
    core->hook = nullptr;
  }
  core->MaybeDelete();
}

static void OnCoreClosed(void *handle) {
  OnPartClosed(static_cast<EnvCore *>(static_cast<uva_timers_t *>(handle)->data));
}

static void OnFetchClosed(void *data) {
  EnvCore *core = static_cast<EnvCore *>(data);
  core->fetch = nullptr;
  OnPartClosed(core);
}

static void OnEnvCleanup(napi_async_cleanup_hook_handle handle, void *arg) {
  EnvCore *core = static_cast<EnvCore *>(arg);
  core->exiting = true;
  core->hook = handle;
  core->closing = core->fetch != nullptr ? 2 : 1;
  if (core->fetch != nullptr) uva_fetch_close(core->fetch, OnFetchClosed);
  uva_timers_close(&core->timers, OnCoreClosed);
}

Addon::Addon(Napi::Env env, Napi::Object exports) : core_(new EnvCore()) {
  uv_loop_t *loop = nullptr;
  if (napi_get_uv_event_loop(env, &loop) != napi_ok)
    throw Napi::Error::New(env, "uvasync: cannot reach the event loop");
  core_->timers.data = core_;
  int err = uva_timers_init(loop, &core_->timers, OnCoreTimers);
  if (err != 0) {
    delete core_;
    throw Napi::Error::New(env, uva_strerror(err));
  }
  core_->addon = this;
  napi_add_async_cleanup_hook(env, OnEnvCleanup, core_, nullptr);
  try {
    Setup(env, exports);
  } catch (...) {
    // A worker terminated while it loads the addon: every call fails from
    // then on.  The cleanup hook still closes the core, which must then no
    // longer point at this half-built object.
    core_->addon = nullptr;
    throw;
  }
}

void Addon::Setup(Napi::Env env, Napi::Object exports) {
  Napi::ArrayBuffer ab = Napi::ArrayBuffer::New(env, kFiredCap * 4);
  fired_ = static_cast<uint32_t *>(ab.Data());
  fired_cap_ = kFiredCap;
  Napi::Uint32Array fired = Napi::Uint32Array::New(env, kFiredCap, ab, 0);
  fired_ref_ = Napi::Persistent(fired.As<Napi::Object>());

  Napi::ArrayBuffer sab = Napi::ArrayBuffer::New(env, 16);
  scratch_ = static_cast<uint32_t *>(sab.Data());
  Napi::Uint32Array scratch = Napi::Uint32Array::New(env, 4, sab, 0);

  sched_ctor = Napi::Persistent(InitSched(env));

  DefineAddon(exports,
              {
                  InstanceMethod<&Addon::TimerStart>("timerStart"),
                  InstanceMethod<&Addon::TimerClear>("timerClear"),
                  InstanceMethod<&Addon::TimerUnref>("timerUnref"),
                  InstanceMethod<&Addon::TimersPending>("timersPending"),
                  InstanceMethod<&Addon::SetTimerCallback>("setTimerCallback"),
                  InstanceMethod<&Addon::BackoffWait>("backoffWait"),
                  InstanceMethod<&Addon::ErrName>("errName"),
                  InstanceValue("fired", fired, napi_enumerable),
                  InstanceValue("Sched", sched_ctor.Value(), napi_enumerable),
                  InstanceValue("scratch", scratch, napi_enumerable),
              });
  InitFlow(env, exports);
  InitFetch(env, exports, this);
  InitTaskQueue(env, exports);
  InitWorkerPool(env, exports, this);
  InitProcPool(env, exports, this);
  InitRedis(env, exports, this);
}

Addon::~Addon() {
  delete async_ctx_;
  if (fetch_ctx_ != nullptr) napi_async_destroy(fetch_env_, fetch_ctx_);
  core_->addon = nullptr;
  core_->MaybeDelete();
}

Napi::Value Addon::TimerStart(const Napi::CallbackInfo &info) {
  double ms = info[0].As<Napi::Number>().DoubleValue();
  return Napi::Number::New(info.Env(),
                           (double)uva_timers_start(&core_->timers, ms));
}

Napi::Value Addon::TimerClear(const Napi::CallbackInfo &info) {
  uint32_t id = info[0].As<Napi::Number>().Uint32Value();
  return Napi::Boolean::New(info.Env(),
                            uva_timers_clear(&core_->timers, id) != 0);
}

Napi::Value Addon::TimerUnref(const Napi::CallbackInfo &info) {
  uint32_t id = info[0].As<Napi::Number>().Uint32Value();
  return Napi::Boolean::New(info.Env(), uva_timers_unref(&core_->timers, id) != 0);
}

Napi::Value Addon::TimersPending(const Napi::CallbackInfo &info) {
  return Napi::Number::New(info.Env(), uva_timers_pending(&core_->timers));
}

Napi::Value Addon::SetTimerCallback(const Napi::CallbackInfo &info) {
  on_timers_ = Napi::Persistent(info[0].As<Napi::Function>());
  delete async_ctx_;
  async_ctx_ = new Napi::AsyncContext(info.Env(), "uvasync:timers");
  return info.Env().Undefined();
}

// The JS side reads the ids from the shared `fired` array; a batch larger
// than the array is handed over in several calls.  This runs from the loop,
// so it uses plain napi_* calls and never throws: while a worker is being
// terminated every call may fail, and that must end quietly.
void Addon::OnTimers(const uint32_t *ids, size_t count) {
  if (on_timers_.IsEmpty() || async_ctx_ == nullptr) return;
  napi_env env = on_timers_.Env();
  napi_handle_scope scope;
  if (napi_open_handle_scope(env, &scope) != napi_ok) return;
  napi_value fn = on_timers_.Value();
  napi_value recv;
  napi_get_global(env, &recv);
  for (size_t off = 0; off < count; off += fired_cap_) {
    size_t n = count - off < fired_cap_ ? count - off : fired_cap_;
    memcpy(fired_, ids + off, n * sizeof(*ids));
    napi_value argv[1];
    if (napi_create_uint32(env, (uint32_t)n, &argv[0]) != napi_ok) break;
    // The dispatcher reports user errors itself; a failure here means the
    // environment is going away: stop.
    if (!CallFromLoop(core_, env, *async_ctx_, recv, fn, 1, argv)) break;
    if (core_->exiting) break;
  }
  napi_close_handle_scope(env, scope);
}

bool CallFromLoop(EnvCore *core, napi_env env, napi_async_context ctx, napi_value recv,
                  napi_value fn, size_t argc, const napi_value *argv) {
  napi_value result;
  if (napi_make_callback(env, ctx, recv, fn, argc, argv, &result) == napi_ok) return true;
  bool pending = false;
  napi_is_exception_pending(env, &pending);
  if (pending) {
    napi_value err;
    // The dispatchers in lib/ catch what user code throws; what still gets
    // here goes to 'uncaughtException', as Node does with an error from its
    // own callbacks, unless the environment is going away.
    if (napi_get_and_clear_last_exception(env, &err) == napi_ok && !core->exiting)
      napi_fatal_exception(env, err);
  }
  return false;
}

// backoffWait(kind, attempt, delay, factor, maxDelay, jitter, rnd)
Napi::Value Addon::BackoffWait(const Napi::CallbackInfo &info) {
  uva_backoff_t b;
  b.data = nullptr;
  b.kind = static_cast<uva_backoff_kind>(info[0].As<Napi::Number>().Int32Value());
  uint32_t attempt = info[1].As<Napi::Number>().Uint32Value();
  b.delay = info[2].As<Napi::Number>().DoubleValue();
  b.factor = info[3].As<Napi::Number>().DoubleValue();
  b.max_delay = info[4].As<Napi::Number>().DoubleValue();
  b.jitter = info[5].As<Napi::Number>().DoubleValue();
  double rnd = info[6].As<Napi::Number>().DoubleValue();
  return Napi::Number::New(info.Env(), uva_backoff_wait(&b, attempt, rnd));
}

Napi::Value Addon::ErrName(const Napi::CallbackInfo &info) {
  return Napi::String::New(info.Env(),
                           uva_err_name(info[0].As<Napi::Number>().Int32Value()));
}

}  // namespace uvasync

using UvasyncAddon = uvasync::Addon;
NODE_API_ADDON(UvasyncAddon)
