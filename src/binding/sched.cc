// sched.cc: the Sched object, a thin wrapper of uva_sched_t.
#include <cmath>

#include "addon.h"

namespace uvasync {

class Sched : public Napi::ObjectWrap<Sched> {
 public:
  explicit Sched(const Napi::CallbackInfo &info);
  static Napi::Function Init(Napi::Env env);

 private:
  static uint32_t Limit(const Napi::Value &v);
  Napi::Value Open(const Napi::CallbackInfo &info);
  Napi::Value Report(const Napi::CallbackInfo &info);
  Napi::Value Close(const Napi::CallbackInfo &info);
  Napi::Value Stop(const Napi::CallbackInfo &info);
  Napi::Value SetLimit(const Napi::CallbackInfo &info);
  Napi::Value Active(const Napi::CallbackInfo &info);
  Napi::Value Settled(const Napi::CallbackInfo &info);

  uva_sched_t sched_;
};

uint32_t Sched::Limit(const Napi::Value &v) {
  double d = v.As<Napi::Number>().DoubleValue();
  return std::isinf(d) || d >= (double)UVA_SCHED_UNLIMITED
             ? UVA_SCHED_UNLIMITED
             : static_cast<uint32_t>(d);
}

// new Sched(limit, total /* -1 unknown */, stopOnError)
Sched::Sched(const Napi::CallbackInfo &info) : Napi::ObjectWrap<Sched>(info) {
  sched_.data = this;
  uva_sched_init(&sched_, Limit(info[0]),
                 info[1].As<Napi::Number>().Int64Value(),
                 info[2].ToBoolean().Value() ? 1 : 0);
}

Napi::Value Sched::Open(const Napi::CallbackInfo &info) {
  return Napi::Number::New(info.Env(), uva_sched_open(&sched_));
}

// report(ok, failed) and close(slots, ok, failed)
Napi::Value Sched::Report(const Napi::CallbackInfo &info) {
  return Napi::Number::New(
      info.Env(), uva_sched_report(&sched_, info[0].As<Napi::Number>().Uint32Value(),
                                   info[1].As<Napi::Number>().Uint32Value()));
}

Napi::Value Sched::Close(const Napi::CallbackInfo &info) {
  return Napi::Number::New(
      info.Env(), uva_sched_close(&sched_, info[0].As<Napi::Number>().Uint32Value(),
                                  info[1].As<Napi::Number>().Uint32Value(),
                                  info[2].As<Napi::Number>().Uint32Value()));
}

Napi::Value Sched::Stop(const Napi::CallbackInfo &info) {
  uva_sched_stop(&sched_);
  return info.Env().Undefined();
}

Napi::Value Sched::SetLimit(const Napi::CallbackInfo &info) {
  return Napi::Number::New(info.Env(),
                           uva_sched_set_limit(&sched_, Limit(info[0])));
}

Napi::Value Sched::Active(const Napi::CallbackInfo &info) {
  return Napi::Number::New(info.Env(), sched_.active);
}

Napi::Value Sched::Settled(const Napi::CallbackInfo &info) {
  return Napi::Number::New(info.Env(), (double)sched_.settled);
}

Napi::Function InitSched(Napi::Env env) { return Sched::Init(env); }

Napi::Function Sched::Init(Napi::Env env) {
  return DefineClass(env, "Sched",
                            {
                                InstanceMethod<&Sched::Open>("open"),
                                InstanceMethod<&Sched::Report>("report"),
                                InstanceMethod<&Sched::Close>("close"),
                                InstanceMethod<&Sched::Stop>("stop"),
                                InstanceMethod<&Sched::SetLimit>("setLimit"),
                                InstanceAccessor<&Sched::Active>("active"),
                                InstanceAccessor<&Sched::Settled>("settled"),
                            });
}

}  // namespace uvasync
