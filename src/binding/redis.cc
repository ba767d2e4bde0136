// redis.cc: the binding of the core's Redis connection (src/core/redis.h),
// built only where hiredis is found (UVA_HAVE_HIREDIS).
//
// newRedisStore(options, onReply) → { eval, counts, connected, close }.
// eval(id, script, key, [args]) → 0 or a negative error (then no reply
// comes); onReply(id, status, [integers], error?) once for each call that
// returned 0.  script: the core's UVA_REDIS_* (0 GCRA, 1-3 the semaphore's).
#include <string>

#include "side.h"

#ifdef UVA_HAVE_HIREDIS
#include "../core/redis.h"

namespace uvasync {

struct RedisSide : Side {
  uva_redis_t *r = nullptr;
};

static void OnReply(uva_redis_t *r, void *arg, int status, const int64_t *ints, size_t n, const char *error) {
  RedisSide *s = static_cast<RedisSide *>(uva_redis_data(r));
  double id = (double)(uintptr_t)arg;
  if (s->core->exiting || s->cb == nullptr) return;
  napi_env env = s->env;
  napi_handle_scope scope;
  napi_open_handle_scope(env, &scope);
  napi_value list;
  napi_create_array_with_length(env, n, &list);
  for (size_t i = 0; i < n; i++) napi_set_element(env, list, (uint32_t)i, JsNum(env, (double)ints[i]));
  napi_value argv[4] = {JsNum(env, id), JsNum(env, status), list, nullptr};
  if (error != nullptr)
    napi_create_string_utf8(env, error, NAPI_AUTO_LENGTH, &argv[3]);
  else
    napi_get_undefined(env, &argv[3]);
  CallSide(s, 4, argv);
  napi_close_handle_scope(env, scope);
}

static void CloseRedis(RedisSide *s) {
  if (StartClosing(s)) uva_redis_close(s->r, SideClosed<RedisSide>);
}

static void RedisCleanup(napi_async_cleanup_hook_handle handle, void *arg) {
  (void)handle;
  CloseRedis(static_cast<RedisSide *>(arg));
}

// A string property as UTF-8 (*present false where it is not a string).
static std::string StrProp(napi_env env, napi_value obj, const char *name, bool *present) {
  napi_value v;
  std::string out;
  *present = napi_get_named_property(env, obj, name, &v) == napi_ok && Utf8(env, v, &out);
  return out;
}

static double NumProp(napi_env env, napi_value obj, const char *name) {
  napi_value v;
  if (napi_get_named_property(env, obj, name, &v) != napi_ok) return 0;
  return ArgNum(env, v);
}

static napi_value RedisEval(napi_env env, napi_callback_info info) {
  size_t argc = 4;
  napi_value argv[4];
  RedisSide *s = SideOf<RedisSide>(env, info, &argc, argv);
  if (s->closed) return JsNum(env, UVA_EREDIS_CLOSED);
  std::string key;
  uint32_t n = 0;
  if (!Utf8(env, argv[2], &key) || napi_get_array_length(env, argv[3], &n) != napi_ok || n > 6)
    return JsNum(env, UV_EINVAL);
  std::string args[6];
  const char *ptrs[6];
  size_t lens[6];
  for (uint32_t i = 0; i < n; i++) {
    napi_value v;
    napi_get_element(env, argv[3], i, &v);
    if (!Utf8(env, v, &args[i])) return JsNum(env, UV_EINVAL);
    ptrs[i] = args[i].data();
    lens[i] = args[i].size();
  }
  uintptr_t id = (uintptr_t)ArgNum(env, argv[0]);
  return JsNum(env, uva_redis_eval(s->r, (int)ArgNum(env, argv[1]), key.data(), key.size(), ptrs, lens, (int)n,
                                   OnReply, (void *)id));
}

static napi_value RedisCounts(napi_env env, napi_callback_info info) {
  RedisSide *s = SideOf<RedisSide>(env, info, nullptr, nullptr);
  uint64_t sent = 0, replies = 0, connects = 0;
  if (!s->closed) uva_redis_counts(s->r, &sent, &replies, &connects);
  napi_value arr;
  napi_create_array_with_length(env, 3, &arr);
  napi_set_element(env, arr, 0, JsNum(env, (double)sent));
  napi_set_element(env, arr, 1, JsNum(env, (double)replies));
  napi_set_element(env, arr, 2, JsNum(env, (double)connects));
  return arr;
}

static napi_value RedisConnected(napi_env env, napi_callback_info info) {
  RedisSide *s = SideOf<RedisSide>(env, info, nullptr, nullptr);
  napi_value v;
  napi_get_boolean(env, !s->closed && uva_redis_connected(s->r), &v);
  return v;
}

static napi_value RedisClose(napi_env env, napi_callback_info info) {
  CloseRedis(SideOf<RedisSide>(env, info, nullptr, nullptr));
  return nullptr;
}

// newRedisStore({ host, port, db, password, connectTimeout, commandTimeout, reconnect }, onReply)
static napi_value NewRedisStore(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2];
  Addon *addon;
  uv_loop_t *loop = LoopOf(env, info, &argc, argv, &addon);
  if (loop == nullptr) return nullptr;
  bool has_host, has_password;
  std::string host = StrProp(env, argv[0], "host", &has_host);
  std::string password = StrProp(env, argv[0], "password", &has_password);
  uva_redis_opts_t opts;
  opts.host = host.c_str();
  opts.port = (int)NumProp(env, argv[0], "port");
  opts.db = (int)NumProp(env, argv[0], "db");
  opts.password = has_password ? password.c_str() : nullptr;
  opts.connect_timeout_ms = (uint64_t)NumProp(env, argv[0], "connectTimeout");
  opts.command_timeout_ms = (uint64_t)NumProp(env, argv[0], "commandTimeout");
  opts.reconnect = NumProp(env, argv[0], "reconnect") != 0;
  RedisSide *s = new RedisSide();
  if (uva_redis_new(loop, &opts, s, &s->r) != 0) {
    delete s;
    napi_throw_error(env, "ENOMEM", "uvasync: out of memory");
    return nullptr;
  }
  OpenSide(s, env, addon->core(), argv[1], "uvasync.RedisStore", RedisCleanup);
  napi_value obj;
  napi_create_object(env, &obj);
  napi_property_descriptor props[] = {
      {"eval", nullptr, RedisEval, nullptr, nullptr, nullptr, napi_default, s},
      {"counts", nullptr, RedisCounts, nullptr, nullptr, nullptr, napi_default, s},
      {"connected", nullptr, RedisConnected, nullptr, nullptr, nullptr, napi_default, s},
      {"close", nullptr, RedisClose, nullptr, nullptr, nullptr, napi_default, s},
  };
  napi_define_properties(env, obj, sizeof(props) / sizeof(props[0]), props);
  return obj;
}

void InitRedis(Napi::Env env, Napi::Object exports, Addon *addon) {
  napi_value fn;
  napi_create_function(env, "newRedisStore", NAPI_AUTO_LENGTH, NewRedisStore, addon, &fn);
  exports.Set("newRedisStore", Napi::Value(env, fn));
}

}  // namespace uvasync

#else

namespace uvasync {
// Built without hiredis: no newRedisStore (lib/ says which package to install).
void InitRedis(Napi::Env env, Napi::Object exports, Addon *addon) {
  (void)env;
  (void)exports;
  (void)addon;
}
}  // namespace uvasync

#endif
