{
  "variables": {"have_hiredis": "<!(node scripts/has-hiredis.js)"},
  "targets": [
    {
      "target_name": "uva_core",
      "type": "static_library",
      "sources": [
        "src/core/backoff.c",
        "src/core/bucket.c",
        "src/core/error.c",
        "src/core/fetch.c",
        "src/core/fetch_pool.c",
        "src/core/fetch_req.c",
        "src/core/fetch_recv.c",
        "src/core/fetch_result.c",
        "src/core/fetch_upload.c",
        "src/core/fetch_chunk.c",
        "src/core/fetch_deliver.c",
        "src/core/fetch_sock.c",
        "src/core/wpool.c",
        "src/core/wproc.c",
        "src/core/wchild.c",
        "src/core/wframe.c",
        "src/core/queue.c",
        "src/core/sched.c",
        "src/core/sem.c",
        "src/core/taskq.c",
        "src/core/timer.c",
        "src/core/waitq.c"
      ],
      "conditions": [["have_hiredis==1", {"sources": ["src/core/redis.c", "src/core/redis_poll.c", "src/core/redis_scripts.c"], "defines": ["UVA_HAVE_HIREDIS"]}]],
      "cflags_c": ["-std=gnu11", "-Wall", "-Wextra", "-fvisibility=hidden"],
      "cflags!": ["-fno-exceptions"],
      "xcode_settings": {"OTHER_CFLAGS": ["-std=gnu11"]}
    },
    {
      "target_name": "uvasync",
      "sources": ["src/binding/addon.cc", "src/binding/fetch.cc", "src/binding/body.cc", "src/binding/flow.cc", "src/binding/sched.cc", "src/binding/taskq.cc", "src/binding/wpool.cc", "src/binding/wproc.cc", "src/binding/redis.cc"],
      "conditions": [["have_hiredis==1", {"defines": ["UVA_HAVE_HIREDIS"], "libraries": ["-lhiredis"]}]],
      "dependencies": [
        "uva_core",
        "<!(node -p \"require('node-addon-api').targets\"):node_addon_api_except"
      ],
      "defines": ["NAPI_VERSION=8", "NODE_ADDON_API_DISABLE_DEPRECATED",
                  "NODE_API_SWALLOW_UNTHROWABLE_EXCEPTIONS"],
      "cflags_cc": ["-std=c++17", "-Wall", "-Wextra", "-fvisibility=hidden"],
      "libraries": ["-lcurl", "-lm"]
    }
  ]
}
