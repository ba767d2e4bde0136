// addon.h: per-environment state of the binding.
#ifndef UVASYNC_ADDON_H
#define UVASYNC_ADDON_H

#include <napi.h>

#include <unordered_map>

#include "../core/uva.h"

namespace uvasync {

class Addon;

// What the core needs to outlive the Addon object: the timer set is closed
// asynchronously, so it lives on its own and frees itself when the last
// party (the close callback or the Addon's destructor) lets go.
struct EnvCore {
  uva_timers_t timers;
  uva_fetch_t *fetch = nullptr;  // Started by the first fetch pool.
  int closing = 0;               // Parts (timers, fetch) still closing.
  napi_async_cleanup_hook_handle hook = nullptr;
  Addon *addon = nullptr;
  bool exiting = false;
  bool closed = false;
  int refs = 0;  // Objects (buckets) that hold timers in this set.

  // Deletes the core once nothing can reach it any more.
  void MaybeDelete() {
    if (closed && addon == nullptr && refs == 0) delete this;
  }
};

class Addon : public Napi::Addon<Addon> {
 public:
  Addon(Napi::Env env, Napi::Object exports);
  ~Addon();

  void OnTimers(const uint32_t *ids, size_t count);
  EnvCore *core() { return core_; }
  // A small shared array for results beyond one number (a status and an id).
  uint32_t *scratch() { return scratch_; }
  Napi::FunctionReference sched_ctor;

  // The fetcher (fetch.cc).
  static constexpr size_t kFetchFields = 16;  // Numbers per result.
  static constexpr size_t kFetchObjs = 5;     // Values per result.
  uva_fetch_t *Fetch(napi_env env);
  void OnFetchDone(uva_freq_t **reqs, size_t count);
  void OnFetchData(uva_freq_t **reqs, size_t count);
  void SetFetchCallback(Napi::Env env, Napi::Function fn);
  std::unordered_map<uint64_t, uva_freq_t *> fetch_ids_;
  double *fetch_nums_ = nullptr;

 private:
  void Setup(Napi::Env env, Napi::Object exports);
  Napi::Value TimerStart(const Napi::CallbackInfo &info);
  Napi::Value TimerClear(const Napi::CallbackInfo &info);
  Napi::Value TimerUnref(const Napi::CallbackInfo &info);
  Napi::Value TimersPending(const Napi::CallbackInfo &info);
  Napi::Value SetTimerCallback(const Napi::CallbackInfo &info);
  Napi::Value BackoffWait(const Napi::CallbackInfo &info);
  Napi::Value ErrName(const Napi::CallbackInfo &info);

  EnvCore *core_;
  Napi::FunctionReference on_timers_;
  Napi::ObjectReference fired_ref_;
  uint32_t *fired_ = nullptr;
  uint32_t *scratch_ = nullptr;
  size_t fired_cap_ = 0;
  Napi::AsyncContext *async_ctx_ = nullptr;
  Napi::FunctionReference fetch_cb_;
  napi_async_context fetch_ctx_ = nullptr;
  napi_env fetch_env_ = nullptr;
};

// A number as a JS value, and a JS value as a number (0 for a non-number).
inline napi_value JsNum(napi_env env, double v) {
  napi_value out;
  napi_create_double(env, v, &out);
  return out;
}
inline double ArgNum(napi_env env, napi_value v) {
  double d = 0;
  napi_get_value_double(env, v, &d);
  return d;
}

// Calls fn from the loop.  An exception it leaves is cleared and, unless
// the environment is going away, reported as uncaught.  False if it failed.
bool CallFromLoop(EnvCore *core, napi_env env, napi_async_context ctx, napi_value recv,
                  napi_value fn, size_t argc, const napi_value *argv);

Napi::Function InitSched(Napi::Env env);
void InitFlow(Napi::Env env, Napi::Object exports);
void InitFetch(Napi::Env env, Napi::Object exports, Addon *addon);
void InitTaskQueue(Napi::Env env, Napi::Object exports);
void InitWorkerPool(Napi::Env env, Napi::Object exports, Addon *addon);
void InitProcPool(Napi::Env env, Napi::Object exports, Addon *addon);
void InitRedis(Napi::Env env, Napi::Object exports, Addon *addon);

}  // namespace uvasync

#endif  // UVASYNC_ADDON_H
