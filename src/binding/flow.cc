// flow.cc: Semaphore, Bucket and Queue objects over the core's flow control.
//
// Conventions of the methods below: a waiter's id is returned as a number
// >= 0; -1 means "at once" (granted, freed, none); a number below -1 is a
// core error code (libuv's EPERM, the only -1, cannot occur here).  The
// queue returns a status and writes the id into the shared `scratch` array.
#include <cmath>

#include "addon.h"

namespace uvasync {

static constexpr double kNow = -1;

static Addon *AddonOf(Napi::Env env) { return env.GetInstanceData<Addon>(); }

static uint32_t U32(const Napi::Value &v) {
  return v.As<Napi::Number>().Uint32Value();
}

// ---- Semaphore ------------------------------------------------------------

class Semaphore : public Napi::ObjectWrap<Semaphore> {
 public:
  explicit Semaphore(const Napi::CallbackInfo &info)
      : Napi::ObjectWrap<Semaphore>(info) {
    sem_.data = this;
    uva_sem_init(&sem_, U32(info[0]));
  }
  ~Semaphore() { uva_sem_free(&sem_); }

  static Napi::Function Init(Napi::Env env) {
    return DefineClass(
        env, "Semaphore",
        {
            InstanceMethod("acquire", &Semaphore::Acquire),
            InstanceMethod("release", &Semaphore::Release),
            InstanceMethod("next", &Semaphore::Next),
            InstanceMethod("cancel", &Semaphore::Cancel),
            InstanceMethod("drop", &Semaphore::Drop),
            InstanceMethod("setLimit", &Semaphore::SetLimit),
            InstanceAccessor("active", &Semaphore::Active, nullptr),
            InstanceAccessor("pending", &Semaphore::Pending, nullptr),
        });
  }

 private:
  Napi::Value Acquire(const Napi::CallbackInfo &info) {
    uint32_t id = 0;
    int rc = uva_sem_acquire(&sem_, &id);
    if (rc < 0) return Napi::Number::New(info.Env(), rc);
    return Napi::Number::New(info.Env(), rc == UVA_NOW ? kNow : (double)id);
  }
  Napi::Value Release(const Napi::CallbackInfo &info) {
    uint32_t id = 0;
    int rc = uva_sem_release(&sem_, &id);
    if (rc < 0) return Napi::Number::New(info.Env(), rc);
    return Napi::Number::New(info.Env(), rc == 1 ? (double)id : kNow);
  }
  Napi::Value Next(const Napi::CallbackInfo &info) {
    uint32_t id = 0;
    return Napi::Number::New(info.Env(),
                             uva_sem_next(&sem_, &id) ? (double)id : kNow);
  }
  Napi::Value Cancel(const Napi::CallbackInfo &info) {
    return Napi::Boolean::New(info.Env(), uva_sem_cancel(&sem_, U32(info[0])));
  }
  Napi::Value Drop(const Napi::CallbackInfo &info) {
    uint32_t id = 0;
    return Napi::Number::New(info.Env(),
                             uva_sem_drop(&sem_, &id) ? (double)id : kNow);
  }
  Napi::Value SetLimit(const Napi::CallbackInfo &info) {
    uint32_t limit = U32(info[0]);
    sem_.limit = limit == 0 ? 1 : limit;
    return info.Env().Undefined();
  }
  Napi::Value Active(const Napi::CallbackInfo &info) {
    return Napi::Number::New(info.Env(), sem_.active);
  }
  Napi::Value Pending(const Napi::CallbackInfo &info) {
    return Napi::Number::New(info.Env(), uva_sem_pending(&sem_));
  }

  uva_sem_t sem_;
};

// ---- Bucket ---------------------------------------------------------------

class Bucket : public Napi::ObjectWrap<Bucket> {
 public:
  // new Bucket(rate, capacity, onGrant(ids, waitedMs))
  explicit Bucket(const Napi::CallbackInfo &info)
      : Napi::ObjectWrap<Bucket>(info) {
    Napi::Env env = info.Env();
    core_ = AddonOf(env)->core();
    bucket_.data = this;
    int err = uva_bucket_init(&bucket_, &core_->timers,
                              info[0].As<Napi::Number>().DoubleValue(),
                              info[1].As<Napi::Number>().DoubleValue(), OnGrant);
    if (err != 0) throw Napi::RangeError::New(env, uva_strerror(err));
    core_->refs++;
    on_grant_ = Napi::Persistent(info[2].As<Napi::Function>());
    ctx_ = new Napi::AsyncContext(env, "uvasync:RateLimiter");
  }

  ~Bucket() {
    if (!core_->closed && !core_->exiting) uva_bucket_free(&bucket_);
    else {
      bucket_.timer_id = -1;  // The timer set is gone with its timers.
      uva_bucket_free(&bucket_);
    }
    delete ctx_;
    core_->refs--;
    core_->MaybeDelete();
  }

  static Napi::Function Init(Napi::Env env) {
    return DefineClass(env, "Bucket",
                       {
                           InstanceMethod("acquire", &Bucket::Acquire),
                           InstanceMethod("tryAcquire", &Bucket::TryAcquire),
                           InstanceMethod("cancel", &Bucket::Cancel),
                           InstanceMethod("drop", &Bucket::Drop),
                           InstanceAccessor("available", &Bucket::Available, nullptr),
                           InstanceAccessor("pending", &Bucket::Pending, nullptr),
                       });
  }

 private:
  // While anyone waits, the object stays alive: its timer points at it.
  void Hold() {
    uint32_t pending = uva_bucket_pending(&bucket_);
    if (pending > 0 && !held_) {
      Ref();
      held_ = true;
    } else if (pending == 0 && held_) {
      Unref();
      held_ = false;
    }
  }

  static void OnGrant(uva_bucket_t *b, const uint32_t *ids,
                      const double *waited, size_t count) {
    static_cast<Bucket *>(b->data)->Granted(ids, waited, count);
  }

  // Runs from the loop: plain napi_* calls that never throw (see addon.cc).
  void Granted(const uint32_t *ids, const double *waited, size_t count) {
    if (core_->exiting) return;
    napi_env env = on_grant_.Env();
    napi_handle_scope scope;
    if (napi_open_handle_scope(env, &scope) != napi_ok) return;
    napi_value argv[2];
    napi_value recv;
    napi_value result;
    bool ok = napi_create_array_with_length(env, count, &argv[0]) == napi_ok &&
              napi_create_array_with_length(env, count, &argv[1]) == napi_ok &&
              napi_get_global(env, &recv) == napi_ok;  // Must be an object.
    for (size_t i = 0; ok && i < count; i++) {
      napi_value id, w;
      ok = napi_create_uint32(env, ids[i], &id) == napi_ok &&
           napi_create_double(env, waited[i], &w) == napi_ok &&
           napi_set_element(env, argv[0], (uint32_t)i, id) == napi_ok &&
           napi_set_element(env, argv[1], (uint32_t)i, w) == napi_ok;
    }
    Hold();
    if (ok && napi_make_callback(env, *ctx_, recv, on_grant_.Value(), 2, argv,
                                 &result) != napi_ok) {
      bool pending = false;
      napi_is_exception_pending(env, &pending);
      if (pending) {
        napi_value err;
        napi_get_and_clear_last_exception(env, &err);
      }
    }
    napi_close_handle_scope(env, scope);
  }

  Napi::Value Acquire(const Napi::CallbackInfo &info) {
    uint32_t id = 0;
    int rc = uva_bucket_acquire(&bucket_, info[0].As<Napi::Number>().DoubleValue(), &id);
    if (rc < 0) return Napi::Number::New(info.Env(), rc);
    if (rc == UVA_WAIT) Hold();
    return Napi::Number::New(info.Env(), rc == UVA_NOW ? kNow : (double)id);
  }
  Napi::Value TryAcquire(const Napi::CallbackInfo &info) {
    return Napi::Boolean::New(
        info.Env(), uva_bucket_try(&bucket_, info[0].As<Napi::Number>().DoubleValue()));
  }
  Napi::Value Cancel(const Napi::CallbackInfo &info) {
    int removed = uva_bucket_cancel(&bucket_, U32(info[0]));
    Hold();
    return Napi::Boolean::New(info.Env(), removed);
  }
  Napi::Value Drop(const Napi::CallbackInfo &info) {
    uint32_t id = 0;
    int dropped = uva_bucket_drop(&bucket_, &id);
    Hold();
    return Napi::Number::New(info.Env(), dropped ? (double)id : kNow);
  }
  Napi::Value Available(const Napi::CallbackInfo &info) {
    return Napi::Number::New(info.Env(), uva_bucket_available(&bucket_));
  }
  Napi::Value Pending(const Napi::CallbackInfo &info) {
    return Napi::Number::New(info.Env(), uva_bucket_pending(&bucket_));
  }

  EnvCore *core_;
  uva_bucket_t bucket_;
  Napi::FunctionReference on_grant_;
  Napi::AsyncContext *ctx_ = nullptr;
  bool held_ = false;
};

// ---- Queue ----------------------------------------------------------------

class Queue : public Napi::ObjectWrap<Queue> {
 public:
  explicit Queue(const Napi::CallbackInfo &info) : Napi::ObjectWrap<Queue>(info) {
    double cap = info[0].As<Napi::Number>().DoubleValue();
    queue_.data = this;
    uva_queue_init(&queue_, std::isinf(cap) || cap >= (double)UVA_Q_UNBOUNDED
                                ? UVA_Q_UNBOUNDED
                                : (uint32_t)cap);
    scratch_ = AddonOf(info.Env())->scratch();
  }
  ~Queue() { uva_queue_free(&queue_); }

  static Napi::Function Init(Napi::Env env) {
    return DefineClass(env, "Queue",
                       {
                           InstanceMethod("put", &Queue::Put),
                           InstanceMethod("get", &Queue::Get),
                           InstanceMethod("tryPut", &Queue::TryPut),
                           InstanceMethod("tryGet", &Queue::TryGet),
                           InstanceMethod("cancelPut", &Queue::CancelPut),
                           InstanceMethod("cancelGet", &Queue::CancelGet),
                           InstanceMethod("close", &Queue::Close),
                           InstanceMethod("dropWaiter", &Queue::DropWaiter),
                           InstanceAccessor("size", &Queue::Size, nullptr),
                       });
  }

 private:
  Napi::Value Status(const Napi::CallbackInfo &info, int rc, uint32_t id) {
    scratch_[0] = id;
    return Napi::Number::New(info.Env(), rc);
  }
  Napi::Value Put(const Napi::CallbackInfo &info) {
    uint32_t id = UVA_Q_NONE;
    int rc = uva_queue_put(&queue_, &id);  // Before `id` is read.
    return Status(info, rc, id);
  }
  Napi::Value Get(const Napi::CallbackInfo &info) {
    uint32_t id = UVA_Q_NONE;
    int rc = uva_queue_get(&queue_, &id);  // Before `id` is read.
    return Status(info, rc, id);
  }
  Napi::Value TryPut(const Napi::CallbackInfo &info) {
    uint32_t id = UVA_Q_NONE;
    int rc = uva_queue_try_put(&queue_, &id);  // Before `id` is read.
    return Status(info, rc, id);
  }
  Napi::Value TryGet(const Napi::CallbackInfo &info) {
    uint32_t id = UVA_Q_NONE;
    int rc = uva_queue_try_get(&queue_, &id);  // Before `id` is read.
    return Status(info, rc, id);
  }
  Napi::Value CancelPut(const Napi::CallbackInfo &info) {
    return Napi::Boolean::New(info.Env(), uva_queue_cancel_put(&queue_, U32(info[0])));
  }
  Napi::Value CancelGet(const Napi::CallbackInfo &info) {
    return Napi::Boolean::New(info.Env(), uva_queue_cancel_get(&queue_, U32(info[0])));
  }
  Napi::Value Close(const Napi::CallbackInfo &info) {
    uva_queue_close(&queue_);
    return info.Env().Undefined();
  }
  // -1 when none is left; else 0 (a putter) or 1 (a getter), id in scratch.
  Napi::Value DropWaiter(const Napi::CallbackInfo &info) {
    int which = 0;
    uint32_t id = UVA_Q_NONE;
    if (!uva_queue_drop_waiter(&queue_, &which, &id)) return Napi::Number::New(info.Env(), -1);
    return Status(info, which, id);
  }
  Napi::Value Size(const Napi::CallbackInfo &info) {
    return Napi::Number::New(info.Env(), queue_.size);
  }

  uva_queue_t queue_;
  uint32_t *scratch_;
};

void InitFlow(Napi::Env env, Napi::Object exports) {
  exports.Set("Semaphore", Semaphore::Init(env));
  exports.Set("Bucket", Bucket::Init(env));
  exports.Set("Queue", Queue::Init(env));
}

}  // namespace uvasync
