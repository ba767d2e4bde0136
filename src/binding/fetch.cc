// fetch.cc: the fetcher's binding: argument conversion and hand-over.
//
// A pool is a plain object whose methods are raw napi_callbacks bound to
// its PoolRef (as the Queue's are).  Finished requests arrive from the core
// once per loop turn and reach JS in one call per batch: the numbers in the
// shared Float64Array `fetchNums` (kFetchFields per request), the values
// (body Buffer, header block, final URL, error code and message) in one
// array.  Bodies larger than kCopyBodyMax become external Buffers over the
// core's memory, so they are never copied; smaller ones are copied into a
// Buffer of Node's own, which costs less than what Node does for every
// external Buffer (a cleanup hook, and a thread-safe immediate to run its
// free callback on this thread once collected).
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <vector>

#include "addon.h"
#include "body.h"

namespace uvasync {

static constexpr size_t kFetchBatch = 1024;
// The small bodies of one batch share one Buffer (as Node's own pool does
// for small Buffers): one allocation and one ArrayBuffer for V8 to track and
// sweep, not one each; JS takes each one's part of it (nums[14], nums[15]).
// Node's bounds: a body under 4 KiB, a Buffer of at most 8 KiB, so that a
// body kept keeps little besides itself.
static constexpr size_t kSharedBodyMax = 4095;
static constexpr size_t kSharedMax = 8192;

struct PoolRef {
  uva_fpool_t *pool;  // nullptr once closed (the core frees it when idle).
  EnvCore *core;
  Addon *addon;
};

static void OnFetchDone(uva_fetch_t *f, uva_freq_t **reqs, size_t count) {
  EnvCore *core = static_cast<EnvCore *>(uva_fetch_data(f));
  if (core->exiting || core->addon == nullptr) {
    for (size_t i = 0; i < count; i++) uva_freq_free(reqs[i]);
    return;
  }
  core->addon->OnFetchDone(reqs, count);
}

static void OnFetchData(uva_fetch_t *f, uva_freq_t **reqs, size_t count) {
  EnvCore *core = static_cast<EnvCore *>(uva_fetch_data(f));
  if (core->exiting || core->addon == nullptr) return;
  core->addon->OnFetchData(reqs, count);
}

uva_fetch_t *Addon::Fetch(napi_env env) {
  if (core_->fetch != nullptr) return core_->fetch;
  if (core_->exiting) return nullptr;
  uv_loop_t *loop = nullptr;
  if (napi_get_uv_event_loop(env, &loop) != napi_ok) return nullptr;
  int err = 0;
  core_->fetch = uva_fetch_new(loop, uvasync::OnFetchDone, core_, &err);
  if (core_->fetch != nullptr) uva_fetch_set_data_cb(core_->fetch, uvasync::OnFetchData);
  return core_->fetch;
}

static napi_value Str(napi_env env, const char *s, size_t len = NAPI_AUTO_LENGTH) {
  napi_value v = nullptr;
  napi_create_string_latin1(env, s, len, &v);
  return v;
}

// Streamed requests with news, from the loop, through the same JS callback
// as finished ones: nums[13] = 1 marks the kind; nums[15] = 1 when a fed
// body's feeder may go on (uva_freq_take_want); nums[14] = 1 when the head
// (status, version; header block and reason in objs) comes with it.  The
// requests stay the core's.
void Addon::OnFetchData(uva_freq_t **reqs, size_t count) {
  if (fetch_cb_.IsEmpty() || fetch_ctx_ == nullptr) return;
  napi_env env = fetch_cb_.Env();
  napi_handle_scope scope;
  if (napi_open_handle_scope(env, &scope) != napi_ok) return;
  napi_value fn = fetch_cb_.Value();
  napi_value recv;
  napi_get_global(env, &recv);
  for (size_t off = 0; off < count && !core_->exiting; off += kFetchBatch) {
    size_t n = count - off < kFetchBatch ? count - off : kFetchBatch;
    napi_value objs;
    napi_create_array_with_length(env, n * kFetchObjs, &objs);
    for (size_t i = 0; i < n; i++) {
      uva_freq_t *r = reqs[off + i];
      double *o = fetch_nums_ + i * kFetchFields;
      uint32_t base = (uint32_t)(i * kFetchObjs);
      int status = 0, version = 0;
      const char *headers = nullptr, *reason = nullptr;
      size_t headers_len = 0;
      o[0] = (double)(uint64_t)(uintptr_t)uva_freq_data(r);
      o[13] = 1;
      o[14] = 0;
      o[15] = uva_freq_take_want(r);
      if (uva_freq_take_head(r, &status, &version, &headers, &headers_len, &reason)) {
        o[1] = status;
        o[2] = version;
        o[14] = 1;
        uva_freq_timings(r, o + 5);  // The phases so far; the end has them all.
        if (headers_len > 0) napi_set_element(env, objs, base + 1, Str(env, headers, headers_len));
        if (reason != nullptr && reason[0] != '\0') napi_set_element(env, objs, base + 4, Str(env, reason));
      }
      size_t len = 0, map = 0;
      uint8_t *body = uva_freq_take_chunk(r, &len, &map);
      if (body != nullptr) napi_set_element(env, objs, base, ChunkValue(env, body, len, map));
    }
    napi_value argv[2];
    napi_create_uint32(env, (uint32_t)n, &argv[0]);
    argv[1] = objs;
    CallFromLoop(core_, env, fetch_ctx_, recv, fn, 2, argv);
  }
  napi_close_handle_scope(env, scope);
}

// Runs from the loop: raw napi calls, never throws (see Addon::OnTimers).
void Addon::OnFetchDone(uva_freq_t **reqs, size_t count) {
  if (fetch_cb_.IsEmpty() || fetch_ctx_ == nullptr) {
    for (size_t i = 0; i < count; i++) uva_freq_free(reqs[i]);
    return;
  }
  napi_env env = fetch_cb_.Env();
  napi_handle_scope scope;
  if (napi_open_handle_scope(env, &scope) != napi_ok) {
    for (size_t i = 0; i < count; i++) uva_freq_free(reqs[i]);
    return;
  }
  napi_value fn = fetch_cb_.Value();
  napi_value recv;
  napi_get_global(env, &recv);
  size_t off = 0;
  for (; off < count && !core_->exiting; off += kFetchBatch) {
    size_t n = count - off < kFetchBatch ? count - off : kFetchBatch;
    napi_value objs;
    napi_create_array_with_length(env, n * kFetchObjs, &objs);
    // The small bodies' bytes; shared only where there are two or more.
    size_t small = 0, nsmall = 0;
    for (size_t i = 0; i < n; i++) {
      const uva_fresult_t *res = uva_freq_result(reqs[off + i]);
      if (res->error == nullptr && res->body_len > 0 && res->body_len <= kSharedBodyMax) {
        small += res->body_len;
        nsmall++;
      }
    }
    if (nsmall < 2) small = 0;
    napi_value shared = nullptr;
    uint8_t *shared_at = nullptr;
    size_t shared_left = 0, shared_used = 0;
    for (size_t i = 0; i < n; i++) {
      uva_freq_t *r = reqs[off + i];
      const uva_fresult_t *res = uva_freq_result(r);
      uint64_t id = (uint64_t)(uintptr_t)uva_freq_data(r);
      double *o = fetch_nums_ + i * kFetchFields;
      fetch_ids_.erase(id);
      o[0] = (double)id;
      o[1] = res->status;
      o[2] = res->http_version;
      o[3] = res->redirects;
      o[4] = res->attempts;
      for (int t = 0; t < 5; t++) o[5 + t] = res->timings[t];
      o[10] = res->duration;
      o[11] = res->curl_code;
      o[12] = res->os_errno;
      o[13] = 0;  // A finished request (OnFetchData's are 1).
      o[14] = -1;  // Its body, if any, is objs[base] itself (else a part of it).
      uint32_t base = (uint32_t)(i * kFetchObjs);
      if (res->error != nullptr) {
        napi_set_element(env, objs, base + 3, Str(env, res->error));
        napi_set_element(env, objs, base + 4, Str(env, res->message));
      } else {
        size_t len = 0, map = 0;
        uint8_t *body = uva_freq_take_body_map(r, &len, &map);
        if (small > 0 && len > 0 && len <= kSharedBodyMax) {
          if (len > shared_left) {
            size_t size = small < kSharedMax ? small : kSharedMax;
            void *data = nullptr;
            if (size < len) size = len;
            if (napi_create_buffer(env, size, &data, &shared) == napi_ok) {
              shared_at = static_cast<uint8_t *>(data);
              shared_left = size;
              shared_used = 0;
            } else {
              shared_left = 0;
            }
          }
          if (len <= shared_left) {
            memcpy(shared_at + shared_used, body, len);
            uva_body_free(body, map);
            napi_set_element(env, objs, base, shared);
            o[14] = (double)shared_used;
            o[15] = (double)len;
            shared_used += len;
            shared_left -= len;
            small -= len;
            body = nullptr;
          }
        }
        // The rest of a body whose reader has it (lib/fetch.js, ended) comes in
        // pieces as its turns did; one settled whole, as one Buffer.
        if (body != nullptr || o[14] < 0)
          napi_set_element(env, objs, base, uva_freq_head_taken(r) ? ChunkValue(env, body, len, map) : BodyBuffer(env, body, len, map));
        if (res->headers_len > 0)
          napi_set_element(env, objs, base + 1, Str(env, res->headers, res->headers_len));
        if (res->url != nullptr) napi_set_element(env, objs, base + 2, Str(env, res->url));
        // The reason phrase, where an error's message would be.
        if (res->reason[0] != '\0') napi_set_element(env, objs, base + 4, Str(env, res->reason));
      }
      uva_freq_free(r);
    }
    napi_value argv[2];
    napi_create_uint32(env, (uint32_t)n, &argv[0]);
    argv[1] = objs;
    CallFromLoop(core_, env, fetch_ctx_, recv, fn, 2, argv);
  }
  // What the environment's exit left undelivered.
  for (size_t i = off; i < count; i++) uva_freq_free(reqs[i]);
  napi_close_handle_scope(env, scope);
}

// ---- Pool methods ------------------------------------------------------------

static PoolRef *PoolOf(napi_env env, napi_callback_info info, size_t *argc,
                       napi_value *argv) {
  void *data = nullptr;
  napi_get_cb_info(env, info, argc, argv, nullptr, &data);
  return static_cast<PoolRef *>(data);
}

// A UTF-8 copy of a JS string: on the stack when it fits (URLs and header
// blocks mostly do), else on the heap.  GetLatin1: a byte a character, for
// header lines, whose values are ByteStrings as in fetch and Node's http
// (lib/ has refused characters past U+00FF).
class Utf8 {
 public:
  ~Utf8() {
    if (p_ != buf_) free(p_);
  }
  // Node copies whole characters only: a UTF-8 string it cut short stopped
  // within 4 bytes (one character) of the end; a Latin-1 one at the last
  // byte.  Shorter than that, it is all there.  (At 1,024-1,026 bytes with
  // a multi-byte character across byte 1,023, "n < size - 1" took a cut
  // string for a whole one.)
  bool Get(napi_env env, napi_value v) { return Copy(env, v, napi_get_value_string_utf8, 4); }
  bool GetLatin1(napi_env env, napi_value v) { return Copy(env, v, napi_get_value_string_latin1, 1); }
  char *data() { return p_; }
  size_t size() const { return len_; }

 private:
  using Getter = napi_status (*)(napi_env, napi_value, char *, size_t, size_t *);
  bool Copy(napi_env env, napi_value v, Getter get, size_t slack) {
    size_t n = 0;
    if (get(env, v, buf_, sizeof(buf_), &n) != napi_ok) return false;
    if (n + slack < sizeof(buf_)) {
      len_ = n;
      return true;
    }
    size_t full = 0;  // Perhaps cut short: ask for the length.
    get(env, v, nullptr, 0, &full);
    char *p = static_cast<char *>(malloc(full + 1));
    if (p == nullptr) return false;
    get(env, v, p, full + 1, &n);
    p_ = p;
    len_ = n;
    return true;
  }

  char buf_[1024];
  char *p_ = buf_;
  size_t len_ = 0;
};

static napi_value Int(napi_env env, int32_t v) {
  napi_value out;
  napi_create_int32(env, v, &out);
  return out;
}

// submit(id, url, method, headers, body, timeout, connectTimeout,
//        maxRedirects, maxBody, decompress, http2, retries, retryAnyMethod,
//        ca, acceptEncoding, first, output, stream, upload)
// → 0, or a negative error code.  `headers` is "Name: value" lines joined
// by "\n" (lib/ has refused CR and LF in names and values, and characters
// past U+00FF: each is a byte) or undefined;
// `body` a Buffer, a string, or undefined; `upload` undefined, or the
// length of a body fed with feed() (-1: unknown).
static napi_value PoolSubmit(napi_env env, napi_callback_info info) {
  size_t argc = 19;
  napi_value argv[19];
  PoolRef *p = PoolOf(env, info, &argc, argv);
  if (p->pool == nullptr || p->core->exiting) return Int(env, UVA_EBADSTATE);

  double id = ArgNum(env, argv[0]);
  Utf8 url, method, headers, body_str;
  if (!url.Get(env, argv[1]) || !method.Get(env, argv[2])) return Int(env, UV_EINVAL);
  napi_valuetype t;
  const char *stack_lines[32];
  std::vector<const char *> more;
  const char **lines = stack_lines;
  size_t nlines = 0;
  napi_typeof(env, argv[3], &t);
  if (t == napi_string && headers.GetLatin1(env, argv[3])) {
    char *s = headers.data();
    while (*s != '\0') {
      if (nlines == 32 && lines == stack_lines) {
        more.assign(stack_lines, stack_lines + 32);
      }
      if (nlines >= 32) {
        more.push_back(s);
        lines = more.data();
      } else {
        stack_lines[nlines] = s;
      }
      nlines++;
      char *nl = strchr(s, '\n');
      if (nl == nullptr) break;
      *nl = '\0';
      s = nl + 1;
    }
  }
  uva_freq_opts_t o;
  memset(&o, 0, sizeof(o));
  o.url = url.data();
  o.method = method.data();
  o.headers = lines;
  o.nheaders = nlines;
  napi_typeof(env, argv[4], &t);
  if (t == napi_string) {
    if (!body_str.Get(env, argv[4])) return Int(env, UV_ENOMEM);
    o.body = body_str.data();
    o.body_len = body_str.size();
    o.has_body = 1;
  } else if (t == napi_object) {
    void *data = nullptr;
    size_t len = 0;
    if (napi_get_buffer_info(env, argv[4], &data, &len) == napi_ok) {
      o.body = data;
      o.body_len = len;
      o.has_body = 1;
    }
  }
  o.timeout = ArgNum(env, argv[5]);
  o.connect_timeout = ArgNum(env, argv[6]);
  o.max_redirects = (int32_t)ArgNum(env, argv[7]);
  o.max_body = ArgNum(env, argv[8]);
  o.decompress = ArgNum(env, argv[9]) != 0;
  o.http2 = (int)ArgNum(env, argv[10]);
  o.retries = (int32_t)ArgNum(env, argv[11]);
  o.retry_any_method = ArgNum(env, argv[12]) != 0;
  Utf8 ca, accept_encoding, output;
  napi_typeof(env, argv[13], &t);
  if (t == napi_string) {
    if (!ca.Get(env, argv[13])) return Int(env, UV_ENOMEM);
    o.ca = ca.data();
    o.ca_len = ca.size();
  }
  napi_typeof(env, argv[14], &t);
  if (t == napi_string) {
    if (!accept_encoding.Get(env, argv[14])) return Int(env, UV_ENOMEM);
    o.accept_encoding = accept_encoding.data();
  }
  napi_typeof(env, argv[16], &t);
  if (t == napi_string) {
    if (!output.Get(env, argv[16])) return Int(env, UV_ENOMEM);
    o.output = output.data();
  }
  o.stream = (int)ArgNum(env, argv[17]);
  napi_typeof(env, argv[18], &t);
  if (t == napi_number) {
    o.upload = 1;
    o.upload_len = ArgNum(env, argv[18]);
  }

  uva_freq_t *r = nullptr;
  uint64_t key = (uint64_t)id;
  int err = uva_freq_new(&o, (void *)(uintptr_t)key, &r);
  if (err != 0) return Int(env, err);
  // `first`: the next hop of a request that has had its turn.
  err = ArgNum(env, argv[15]) != 0 ? uva_fetch_submit_first(p->pool, r) : uva_fetch_submit(p->pool, r);
  if (err != 0) {
    uva_freq_free(r);
    return Int(env, err);
  }
  // Finished requests are delivered from the loop, never from submit, so
  // the id is in the table before its result can look for it.
  p->addon->fetch_ids_[key] = r;
  return Int(env, 0);
}

// cancel(id): stops the request; its result will never be delivered.
static napi_value PoolCancel(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  PoolRef *p = PoolOf(env, info, &argc, argv);
  if (p->core->exiting) return nullptr;
  uint64_t key = (uint64_t)ArgNum(env, argv[0]);
  auto it = p->addon->fetch_ids_.find(key);
  if (it == p->addon->fetch_ids_.end()) return nullptr;
  uva_freq_t *r = it->second;
  p->addon->fetch_ids_.erase(it);
  uva_fetch_cancel(r);
  return nullptr;
}

// hold(id, full): a streamed body's reader is full (1: pause) or wants
// more (0).  Ignored for a request that is no longer the core's.
static napi_value PoolHold(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2];
  PoolRef *p = PoolOf(env, info, &argc, argv);
  if (p->core->exiting) return nullptr;
  auto it = p->addon->fetch_ids_.find((uint64_t)ArgNum(env, argv[0]));
  if (it == p->addon->fetch_ids_.end()) return nullptr;
  uva_freq_hold(it->second, ArgNum(env, argv[1]) != 0);
  return nullptr;
}

// feed(id, chunk): more of a fed body (a Buffer), or its end (null).
// → 1: wait for news before feeding more; 0: go on; or a negative error
// (the request is no longer the core's: it finished or was cancelled).
static napi_value PoolFeed(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2];
  PoolRef *p = PoolOf(env, info, &argc, argv);
  if (p->core->exiting) return Int(env, UVA_EBADSTATE);
  auto it = p->addon->fetch_ids_.find((uint64_t)ArgNum(env, argv[0]));
  if (it == p->addon->fetch_ids_.end()) return Int(env, UVA_EBADSTATE);
  void *data = nullptr;
  size_t len = 0;
  int end = 1;
  if (napi_get_buffer_info(env, argv[1], &data, &len) == napi_ok) end = 0;
  return Int(env, uva_freq_feed(it->second, data, len, end));
}

// stats(out Float64Array(5)): active, queued, done, failed, bytes.
static napi_value PoolStats(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  PoolRef *p = PoolOf(env, info, &argc, argv);
  void *data = nullptr;
  size_t len = 0;
  napi_typedarray_type type;
  napi_value ab;
  size_t off;
  if (napi_get_typedarray_info(env, argv[0], &type, &len, &data, &ab, &off) != napi_ok ||
      type != napi_float64_array || len < 5)
    return nullptr;
  double *out = static_cast<double *>(data);
  uva_fpool_stats_t s;
  memset(&s, 0, sizeof(s));
  if (p->pool != nullptr && !p->core->exiting) uva_fpool_stats(p->pool, &s);
  out[0] = (double)s.active;
  out[1] = (double)s.queued;
  out[2] = (double)s.done;
  out[3] = (double)s.failed;
  out[4] = (double)s.bytes;
  return nullptr;
}

// close(): no more submits; the core frees the pool after its last request.
static napi_value PoolClose(napi_env env, napi_callback_info info) {
  size_t argc = 0;
  PoolRef *p = PoolOf(env, info, &argc, nullptr);
  if (p->pool != nullptr && !p->core->exiting) uva_fpool_close(p->pool);
  p->pool = nullptr;
  return nullptr;
}

static void PoolFinalize(napi_env env, void *data, void *hint) {
  (void)env;
  (void)hint;
  PoolRef *p = static_cast<PoolRef *>(data);
  if (p->pool != nullptr && !p->core->exiting) uva_fpool_close(p->pool);
  p->core->refs--;
  p->core->MaybeDelete();
  delete p;
}

// newFetchPool(concurrency, perHost, perSecond, retries, retryDelay,
//              retryMaxDelay, maxRetryAfter); 0 means no limit.
static Napi::Value NewFetchPool(const Napi::CallbackInfo &info) {
  Napi::Env env = info.Env();
  Addon *addon = env.GetInstanceData<Addon>();
  uva_fetch_t *f = addon->Fetch(env);
  if (f == nullptr) throw Napi::Error::New(env, "uvasync: cannot start the fetch engine");
  uva_fpool_opts_t o;
  auto num = [&](int i) { return info[i].As<Napi::Number>().DoubleValue(); };
  auto u32 = [&](int i) {
    double d = num(i);
    return std::isfinite(d) && d > 0 && d < 4294967295.0 ? (uint32_t)d : 0;
  };
  o.concurrency = u32(0);
  o.per_host = u32(1);
  o.per_second = std::isfinite(num(2)) ? num(2) : 0;
  o.retries = u32(3);
  o.retry_delay = num(4);
  o.retry_max_delay = num(5);
  o.max_retry_after = num(6);
  PoolRef *p = new PoolRef();
  p->core = addon->core();
  p->addon = addon;
  if (uva_fpool_new(f, &o, &p->pool) != 0) {
    delete p;
    throw Napi::Error::New(env, "uvasync: out of memory");
  }
  p->core->refs++;
  Napi::Object obj = Napi::Object::New(env);
  napi_property_descriptor props[] = {
      {"submit", nullptr, PoolSubmit, nullptr, nullptr, nullptr, napi_default, p},
      {"cancel", nullptr, PoolCancel, nullptr, nullptr, nullptr, napi_default, p},
      {"hold", nullptr, PoolHold, nullptr, nullptr, nullptr, napi_default, p},
      {"feed", nullptr, PoolFeed, nullptr, nullptr, nullptr, napi_default, p},
      {"stats", nullptr, PoolStats, nullptr, nullptr, nullptr, napi_default, p},
      {"close", nullptr, PoolClose, nullptr, nullptr, nullptr, napi_default, p},
  };
  if (napi_define_properties(env, obj, sizeof(props) / sizeof(props[0]), props) != napi_ok ||
      napi_add_finalizer(env, obj, p, PoolFinalize, nullptr, nullptr) != napi_ok) {
    uva_fpool_close(p->pool);
    p->core->refs--;
    delete p;
    throw Napi::Error::New(env, "uvasync: cannot create a fetch pool");
  }
  return obj;
}

// fetchCloseIdle() → true if the kept-alive connections were closed.
static Napi::Value FetchCloseIdle(const Napi::CallbackInfo &info) {
  EnvCore *core = info.Env().GetInstanceData<Addon>()->core();
  bool done = core->fetch != nullptr && !core->exiting && uva_fetch_close_idle(core->fetch);
  return Napi::Boolean::New(info.Env(), done);
}

static Napi::Value SetFetchCallback(const Napi::CallbackInfo &info) {
  Addon *addon = info.Env().GetInstanceData<Addon>();
  addon->SetFetchCallback(info.Env(), info[0].As<Napi::Function>());
  return info.Env().Undefined();
}

void Addon::SetFetchCallback(Napi::Env env, Napi::Function fn) {
  fetch_cb_ = Napi::Persistent(fn);
  if (fetch_ctx_ != nullptr) napi_async_destroy(env, fetch_ctx_);
  napi_value name = Str(env, "uvasync:fetch");
  napi_async_init(env, nullptr, name, &fetch_ctx_);
  fetch_env_ = env;
}

void InitFetch(Napi::Env env, Napi::Object exports, Addon *addon) {
  Napi::ArrayBuffer ab = Napi::ArrayBuffer::New(env, kFetchBatch * Addon::kFetchFields * sizeof(double));
  addon->fetch_nums_ = static_cast<double *>(ab.Data());
  exports.Set("fetchNums", Napi::Float64Array::New(env, kFetchBatch * Addon::kFetchFields, ab, 0));
  exports.Set("newFetchPool", Napi::Function::New<NewFetchPool>(env, "newFetchPool"));
  exports.Set("setFetchCallback", Napi::Function::New<SetFetchCallback>(env, "setFetchCallback"));
  exports.Set("fetchCloseIdle", Napi::Function::New<FetchCloseIdle>(env, "fetchCloseIdle"));
  exports.Set("fetchFeatures", Napi::Number::New(env, uva_fetch_features()));
  exports.Set("curlVersion", Napi::String::New(env, uva_fetch_curl_version()));
}

}  // namespace uvasync
