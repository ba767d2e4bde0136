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
            InstanceMethod<&Semaphore::Acquire>("acquire"),
            InstanceMethod<&Semaphore::Release>("release"),
            InstanceMethod<&Semaphore::Next>("next"),
            InstanceMethod<&Semaphore::Cancel>("cancel"),
            InstanceMethod<&Semaphore::Drop>("drop"),
            InstanceMethod<&Semaphore::SetLimit>("setLimit"),
            InstanceAccessor<&Semaphore::Active>("active"),
            InstanceAccessor<&Semaphore::Pending>("pending"),
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
                           InstanceMethod<&Bucket::Acquire>("acquire"),
                           InstanceMethod<&Bucket::TryAcquire>("tryAcquire"),
                           InstanceMethod<&Bucket::Cancel>("cancel"),
                           InstanceMethod<&Bucket::Drop>("drop"),
                           InstanceAccessor<&Bucket::Available>("available"),
                           InstanceAccessor<&Bucket::Pending>("pending"),
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
    if (ok) CallFromLoop(core_, env, *ctx_, recv, on_grant_.Value(), 2, argv);
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
// The queue's put/get run once per item, so they are plain napi_callbacks
// bound to the queue's core struct (no CallbackInfo, no unwrap): measured
// here, an ObjectWrap method cost ~59 ns a call, most of a put/get pair.

struct QueueCore {
  uva_queue_t queue;
  uint32_t *scratch;
};

static QueueCore *QueueOf(napi_env env, napi_callback_info info) {
  void *data = nullptr;
  size_t argc = 0;
  napi_get_cb_info(env, info, &argc, nullptr, nullptr, &data);
  return static_cast<QueueCore *>(data);
}

static napi_value QueueStatus(napi_env env, QueueCore *q, int rc, uint32_t id) {
  napi_value out;
  q->scratch[0] = id;
  napi_create_int32(env, rc, &out);
  return out;
}

static napi_value QueueId(napi_env env, napi_callback_info info, QueueCore **q) {
  void *data = nullptr;
  size_t argc = 1;
  napi_value argv[1];
  uint32_t id = UVA_Q_NONE;
  napi_get_cb_info(env, info, &argc, argv, nullptr, &data);
  *q = static_cast<QueueCore *>(data);
  if (argc < 1 || napi_get_value_uint32(env, argv[0], &id) != napi_ok) id = UVA_Q_NONE;
  napi_value out;
  napi_create_uint32(env, id, &out);
  return out;
}

#define UVA_QUEUE_OP(name, call)                                     \
  static napi_value name(napi_env env, napi_callback_info info) {    \
    QueueCore *q = QueueOf(env, info);                               \
    uint32_t id = UVA_Q_NONE;                                        \
    int rc = call(&q->queue, &id); /* Before `id` is read. */        \
    return QueueStatus(env, q, rc, id);                              \
  }

UVA_QUEUE_OP(QueuePut, uva_queue_put)
UVA_QUEUE_OP(QueueGet, uva_queue_get)
UVA_QUEUE_OP(QueueTryPut, uva_queue_try_put)
UVA_QUEUE_OP(QueueTryGet, uva_queue_try_get)

static napi_value QueueCancel(napi_env env, napi_callback_info info, int put) {
  QueueCore *q;
  napi_value idv = QueueId(env, info, &q);
  uint32_t id;
  napi_get_value_uint32(env, idv, &id);
  int removed = put ? uva_queue_cancel_put(&q->queue, id) : uva_queue_cancel_get(&q->queue, id);
  napi_value out;
  napi_get_boolean(env, removed != 0, &out);
  return out;
}

static napi_value QueueCancelPut(napi_env env, napi_callback_info info) {
  return QueueCancel(env, info, 1);
}

static napi_value QueueCancelGet(napi_env env, napi_callback_info info) {
  return QueueCancel(env, info, 0);
}

static napi_value QueueClose(napi_env env, napi_callback_info info) {
  uva_queue_close(&QueueOf(env, info)->queue);
  return nullptr;
}

// -1 when none is left; else 0 (a putter) or 1 (a getter), id in scratch.
static napi_value QueueDropWaiter(napi_env env, napi_callback_info info) {
  QueueCore *q = QueueOf(env, info);
  int which = 0;
  uint32_t id = UVA_Q_NONE;
  if (!uva_queue_drop_waiter(&q->queue, &which, &id)) return QueueStatus(env, q, -1, id);
  return QueueStatus(env, q, which, id);
}

static napi_value QueueSize(napi_env env, napi_callback_info info) {
  napi_value out;
  napi_create_uint32(env, QueueOf(env, info)->queue.size, &out);
  return out;
}

static void QueueFinalize(napi_env env, void *data, void *hint) {
  (void)env;
  (void)hint;
  QueueCore *q = static_cast<QueueCore *>(data);
  uva_queue_free(&q->queue);
  delete q;
}

// newQueue(capacity) → an object whose methods are bound to one core queue;
// the core struct is freed when that object is collected.  The methods are
// for lib/queue.js, which never lets them outlive their object.
static Napi::Value NewQueue(const Napi::CallbackInfo &info) {
  Napi::Env env = info.Env();
  double cap = info[0].As<Napi::Number>().DoubleValue();
  QueueCore *q = new QueueCore();
  q->scratch = AddonOf(env)->scratch();
  uva_queue_init(&q->queue, std::isinf(cap) || cap >= (double)UVA_Q_UNBOUNDED
                                ? UVA_Q_UNBOUNDED
                                : (uint32_t)cap);
  Napi::Object obj = Napi::Object::New(env);
  napi_property_descriptor props[] = {
      {"put", nullptr, QueuePut, nullptr, nullptr, nullptr, napi_default, q},
      {"get", nullptr, QueueGet, nullptr, nullptr, nullptr, napi_default, q},
      {"tryPut", nullptr, QueueTryPut, nullptr, nullptr, nullptr, napi_default, q},
      {"tryGet", nullptr, QueueTryGet, nullptr, nullptr, nullptr, napi_default, q},
      {"cancelPut", nullptr, QueueCancelPut, nullptr, nullptr, nullptr, napi_default, q},
      {"cancelGet", nullptr, QueueCancelGet, nullptr, nullptr, nullptr, napi_default, q},
      {"close", nullptr, QueueClose, nullptr, nullptr, nullptr, napi_default, q},
      {"dropWaiter", nullptr, QueueDropWaiter, nullptr, nullptr, nullptr, napi_default, q},
      {"size", nullptr, nullptr, QueueSize, nullptr, nullptr, napi_default, q},
  };
  if (napi_define_properties(env, obj, sizeof(props) / sizeof(props[0]), props) != napi_ok ||
      napi_add_finalizer(env, obj, q, QueueFinalize, nullptr, nullptr) != napi_ok) {
    uva_queue_free(&q->queue);
    delete q;
    throw Napi::Error::New(env, "uvasync: cannot create a queue");
  }
  return obj;
}

// crossing(): a call into C shaped like a queue operation (bound data, one
// int back) that does nothing.  bench/flow.mjs uses it to price the calls
// into C that a put/get pair needs, apart from the queue's own work.
static napi_value Crossing(napi_env env, napi_callback_info info) {
  void *data = nullptr;
  size_t argc = 0;
  napi_get_cb_info(env, info, &argc, nullptr, nullptr, &data);
  napi_value out;
  napi_create_int32(env, data != nullptr, &out);
  return out;
}

void InitFlow(Napi::Env env, Napi::Object exports) {
  exports.Set("Semaphore", Semaphore::Init(env));
  exports.Set("Bucket", Bucket::Init(env));
  exports.Set("newQueue", Napi::Function::New<NewQueue>(env, "newQueue"));
  napi_value crossing;
  static int tag;
  if (napi_create_function(env, "crossing", NAPI_AUTO_LENGTH, Crossing, &tag, &crossing) == napi_ok)
    exports.Set("crossing", Napi::Value(env, crossing));
}

}  // namespace uvasync
