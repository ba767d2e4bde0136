// taskq.cc: the TaskQueue's binding over the core's task queue.
//
// Like the Queue's, its methods are plain napi_callbacks bound to the core
// struct: they run once or twice per task.  Ids of tasks to start come back
// in the queue's own Uint32Array `ids` (kBatch at a time), the count as the
// return value; after every call, ids[kBatch] and ids[kBatch + 1] hold the
// queue's size and pending count, so that JS reads them without a call.
// (Measured: the getters as calls were 3-4 crossings a task.)  While the window timer is armed, the JS object is held by
// a strong reference: the timer will start its waiting tasks, whose promises
// nothing else may hold.
#include <cmath>

#include "addon.h"

namespace uvasync {

static constexpr uint32_t kBatch = 64;

struct TaskCore {
  uva_taskq_t q;
  EnvCore *core;
  napi_env env;
  uint32_t *ids;          // The `ids` array's memory: kBatch ids, size, pending.
  double *clock;          // `clock`: the loop's time in epoch ms (runningTasks).
  double clock_offset;    // Epoch ms minus the loop's ms, at creation.
  napi_ref self = nullptr;  // Weak; strong while the window timer is armed.
  bool held = false;
  napi_ref on_window = nullptr;
  napi_async_context ctx = nullptr;
};

static TaskCore *TaskOf(napi_env env, napi_callback_info info, size_t *argc = nullptr,
                        napi_value *argv = nullptr) {
  void *data = nullptr;
  size_t none = 0;
  napi_get_cb_info(env, info, argc != nullptr ? argc : &none, argv, nullptr, &data);
  return static_cast<TaskCore *>(data);
}


// The counts JS reads from `ids`, after any change.
static void TaskCounts(TaskCore *t) {
  t->ids[kBatch] = t->q.size;
  t->ids[kBatch + 1] = t->q.pending;
  // The loop's cached time (a memory read): what a start reads as its
  // startTime, where Date.now() per task cost ~45 ns of a ~1.4 µs task.
  *t->clock = (double)uv_now(t->q.timers->loop) + t->clock_offset;
}

// Holds the JS object exactly while the window timer is armed.
static void TaskHold(TaskCore *t) {
  TaskCounts(t);
  bool want = t->q.timer_id >= 0;
  if (want == t->held || t->self == nullptr) return;
  uint32_t count = 0;
  if (want) napi_reference_ref(t->env, t->self, &count);
  else napi_reference_unref(t->env, t->self, &count);
  t->held = want;
}

// Up to kBatch ids of tasks that may start now, into `ids`.
static uint32_t TaskDrain(TaskCore *t) {
  uint32_t n = 0;
  uint32_t id;
  while (n < kBatch && uva_taskq_next(&t->q, &id) == 1) t->ids[n++] = id;
  TaskHold(t);
  return n;
}

// add(priority) → -1 (starts now), or the id (waiting); a DRAIN start is
// reported as id + 2^32 (waiting, and drain() has tasks to start now).
static napi_value TaskAdd(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  TaskCore *t = TaskOf(env, info, &argc, argv);
  uint32_t id = 0;
  int rc = uva_taskq_add(&t->q, ArgNum(env, argv[0]), &id);
  TaskHold(t);
  if (rc == UVA_NOW) return JsNum(env, -1);
  if (rc < 0) return JsNum(env, -2);  // Out of memory or too many waiting.
  return JsNum(env, rc == UVA_TASKQ_DRAIN ? (double)id + 4294967296.0 : (double)id);
}

// done() → how many ids in `ids` start now (a task ended).
static napi_value TaskDone(napi_env env, napi_callback_info info) {
  TaskCore *t = TaskOf(env, info);
  uva_taskq_done(&t->q);
  return JsNum(env, TaskDrain(t));
}

// drain() → how many ids in `ids` start now (after start(), more concurrency).
static napi_value TaskDrainCall(napi_env env, napi_callback_info info) {
  return JsNum(env, TaskDrain(TaskOf(env, info)));
}

static napi_value TaskRemove(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  TaskCore *t = TaskOf(env, info, &argc, argv);
  napi_value out;
  napi_get_boolean(env, uva_taskq_remove(&t->q, (uint32_t)ArgNum(env, argv[0])) == 1, &out);
  TaskCounts(t);
  return out;
}

static napi_value TaskSetPriority(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2];
  TaskCore *t = TaskOf(env, info, &argc, argv);
  napi_value out;
  int rc = uva_taskq_set_priority(&t->q, (uint32_t)ArgNum(env, argv[0]), ArgNum(env, argv[1]));
  napi_get_boolean(env, rc == 1, &out);
  return out;
}

// drop() → the id of the first waiting task, taken out unstarted, or -1.
static napi_value TaskDrop(napi_env env, napi_callback_info info) {
  TaskCore *t = TaskOf(env, info);
  uint32_t id = 0;
  int dropped = uva_taskq_drop(&t->q, &id);
  TaskCounts(t);
  return JsNum(env, dropped ? (double)id : -1);
}

static napi_value TaskSetConcurrency(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  TaskCore *t = TaskOf(env, info, &argc, argv);
  double n = ArgNum(env, argv[0]);
  uva_taskq_set_concurrency(&t->q, std::isfinite(n) && n < 4294967295.0 ? (uint32_t)n : 0);
  return nullptr;
}

static napi_value TaskPause(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  TaskCore *t = TaskOf(env, info, &argc, argv);
  bool paused = false;
  napi_get_value_bool(env, argv[0], &paused);
  uva_taskq_pause(&t->q, paused);
  return nullptr;
}

static napi_value TaskSize(napi_env env, napi_callback_info info) {
  return JsNum(env, uva_taskq_size(&TaskOf(env, info)->q));
}

static napi_value TaskPending(napi_env env, napi_callback_info info) {
  return JsNum(env, uva_taskq_pending(&TaskOf(env, info)->q));
}

static napi_value TaskSizeBy(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  TaskCore *t = TaskOf(env, info, &argc, argv);
  return JsNum(env, uva_taskq_size_by(&t->q, ArgNum(env, argv[0])));
}

static napi_value TaskRateLimited(napi_env env, napi_callback_info info) {
  napi_value out;
  napi_get_boolean(env, uva_taskq_rate_limited(&TaskOf(env, info)->q) != 0, &out);
  return out;
}

// The window ended: its waiting tasks start, from the loop.  Raw napi calls
// that never throw (see addon.cc).
static void OnWindow(uva_taskq_t *q, const uint32_t *ids, size_t count) {
  TaskCore *t = static_cast<TaskCore *>(q->data);
  if (t->core->exiting || t->on_window == nullptr) return;
  napi_env env = t->env;
  napi_handle_scope scope;
  if (napi_open_handle_scope(env, &scope) != napi_ok) return;
  napi_value fn, recv;
  TaskCounts(t);
  if (napi_get_reference_value(env, t->on_window, &fn) == napi_ok && fn != nullptr &&
      napi_get_global(env, &recv) == napi_ok) {
    // An empty batch too: the window ended (JS updates its rate state).
    for (size_t off = 0; (off < count || off == 0) && !t->core->exiting; off += kBatch) {
      size_t n = count - off < kBatch ? count - off : kBatch;
      memcpy(t->ids, ids + off, n * sizeof(*ids));
      napi_value argv[1] = {JsNum(env, (double)n)};
      if (!CallFromLoop(t->core, env, t->ctx, recv, fn, 1, argv)) break;
    }
  }
  TaskHold(t);
  napi_close_handle_scope(env, scope);
}

static void TaskFinalize(napi_env env, void *data, void *hint) {
  (void)hint;
  TaskCore *t = static_cast<TaskCore *>(data);
  // The timer set is gone with its timers when the environment closed.
  if (t->core->closed || t->core->exiting) t->q.timer_id = -1;
  uva_taskq_free(&t->q);
  if (t->on_window != nullptr) napi_delete_reference(env, t->on_window);
  if (t->self != nullptr) napi_delete_reference(env, t->self);
  if (t->ctx != nullptr) napi_async_destroy(env, t->ctx);
  t->core->refs--;
  t->core->MaybeDelete();
  delete t;
}

// newTaskQueue(concurrency, intervalCap, intervalMs, carryover, onWindow(n))
// (0 or Infinity: no limit) → an object whose methods are bound to one core
// task queue, with its `ids` array.
static Napi::Value NewTaskQueue(const Napi::CallbackInfo &info) {
  Napi::Env env = info.Env();
  Addon *addon = env.GetInstanceData<Addon>();
  auto u32 = [&](int i) {
    double d = info[i].As<Napi::Number>().DoubleValue();
    return std::isfinite(d) && d >= 1 && d < 4294967295.0 ? (uint32_t)d : 0;
  };
  TaskCore *t = new TaskCore();
  t->core = addon->core();
  t->env = env;
  t->q.data = t;
  uva_taskq_init(&t->q, &t->core->timers, u32(0), u32(1), info[2].As<Napi::Number>().DoubleValue(),
                 info[3].As<Napi::Boolean>().Value(), OnWindow);
  t->core->refs++;
  Napi::ArrayBuffer ab = Napi::ArrayBuffer::New(env, (kBatch + 2) * sizeof(uint32_t));
  t->ids = static_cast<uint32_t *>(ab.Data());
  Napi::ArrayBuffer cab = Napi::ArrayBuffer::New(env, sizeof(double));
  t->clock = static_cast<double *>(cab.Data());
  uv_timeval64_t tv;
  uv_loop_t *loop = t->q.timers->loop;
  uv_update_time(loop);
  t->clock_offset = uv_gettimeofday(&tv) == 0
                        ? (double)tv.tv_sec * 1000 + (double)tv.tv_usec / 1000 - (double)uv_now(loop)
                        : 0;
  TaskCounts(t);
  Napi::Object obj = Napi::Object::New(env);
  napi_property_descriptor props[] = {
      {"add", nullptr, TaskAdd, nullptr, nullptr, nullptr, napi_default, t},
      {"done", nullptr, TaskDone, nullptr, nullptr, nullptr, napi_default, t},
      {"drain", nullptr, TaskDrainCall, nullptr, nullptr, nullptr, napi_default, t},
      {"remove", nullptr, TaskRemove, nullptr, nullptr, nullptr, napi_default, t},
      {"setPriority", nullptr, TaskSetPriority, nullptr, nullptr, nullptr, napi_default, t},
      {"drop", nullptr, TaskDrop, nullptr, nullptr, nullptr, napi_default, t},
      {"setConcurrency", nullptr, TaskSetConcurrency, nullptr, nullptr, nullptr, napi_default, t},
      {"pause", nullptr, TaskPause, nullptr, nullptr, nullptr, napi_default, t},
      {"sizeBy", nullptr, TaskSizeBy, nullptr, nullptr, nullptr, napi_default, t},
      {"rateLimited", nullptr, TaskRateLimited, nullptr, nullptr, nullptr, napi_default, t},
      {"size", nullptr, nullptr, TaskSize, nullptr, nullptr, napi_default, t},
      {"pending", nullptr, nullptr, TaskPending, nullptr, nullptr, napi_default, t},
  };
  napi_value name;
  napi_create_string_utf8(env, "uvasync:TaskQueue", NAPI_AUTO_LENGTH, &name);
  if (napi_define_properties(env, obj, sizeof(props) / sizeof(props[0]), props) != napi_ok ||
      napi_create_reference(env, info[4], 1, &t->on_window) != napi_ok ||
      napi_create_reference(env, obj, 0, &t->self) != napi_ok ||
      napi_async_init(env, nullptr, name, &t->ctx) != napi_ok ||
      napi_add_finalizer(env, obj, t, TaskFinalize, nullptr, nullptr) != napi_ok) {
    TaskFinalize(env, t, nullptr);
    throw Napi::Error::New(env, "uvasync: cannot create a task queue");
  }
  obj.Set("ids", Napi::Uint32Array::New(env, kBatch + 2, ab, 0));
  obj.Set("clock", Napi::Float64Array::New(env, 1, cab, 0));
  return obj;
}

void InitTaskQueue(Napi::Env env, Napi::Object exports) {
  exports.Set("newTaskQueue", Napi::Function::New<NewTaskQueue>(env, "newTaskQueue"));
}

}  // namespace uvasync
