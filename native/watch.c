/* Nests an epoll fd in Node's own event loop (libuv) for Poll.pollAsync:
 * when the epoll fd turns readable, a JS callback runs on the main thread.
 * No thread and no busy loop; one watcher per Poll. */
#include "napi_util.h"
#include <stdlib.h>
#include <uv.h>

typedef struct {
  uv_poll_t handle;
  napi_env env;
  napi_ref callback;
  napi_async_context ctx;
  int active;
  int closed;
} watcher_t;

static void on_closed(uv_handle_t *h) { free(h->data); }

static void on_readable(uv_poll_t *h, int status, int events) {
  watcher_t *w = h->data;
  napi_env env = w->env;
  napi_handle_scope scope;
  napi_open_handle_scope(env, &scope);
  napi_value cb, recv, ret;
  napi_get_reference_value(env, w->callback, &cb);
  napi_get_global(env, &recv);
  napi_make_callback(env, w->ctx, recv, cb, 0, NULL, &ret);
  napi_close_handle_scope(env, scope);
}

/* Stops and frees the uv handle; safe to call twice. */
static void watcher_close(watcher_t *w) {
  if (w->closed) return;
  w->closed = 1;
  napi_delete_reference(w->env, w->callback);
  napi_async_destroy(w->env, w->ctx);
  uv_poll_stop(&w->handle);
  uv_close((uv_handle_t *)&w->handle, on_closed);
}

static int arg_watcher(napi_env env, napi_value v, watcher_t **w) {
  if (napi_get_value_external(env, v, (void **)w) != napi_ok || *w == NULL) {
    napi_throw_type_error(env, "ERR_INVALID_ARG_TYPE", "expected a watcher");
    return 0;
  }
  if ((*w)->closed) {
    napi_throw_error(env, "EBADF", "watcher is closed");
    return 0;
  }
  return 1;
}

/* watchCreate(epfd, callback) -> watcher (stopped) */
static napi_value watch_create(napi_env env, napi_callback_info info) {
  GET_ARGS(2);
  int32_t fd;
  if (!arg_int32(env, argv[0], &fd)) return NULL;
  uv_loop_t *loop;
  if (napi_get_uv_event_loop(env, &loop) != napi_ok) return NULL;
  watcher_t *w = calloc(1, sizeof *w);
  if (w == NULL) return num(env, -ENOMEM);
  int r = uv_poll_init(loop, &w->handle, fd);
  if (r < 0) {
    free(w);
    return num(env, r); /* libuv errors are -errno on Linux */
  }
  w->handle.data = w;
  w->env = env;
  napi_create_reference(env, argv[1], 1, &w->callback);
  napi_value name;
  napi_create_string_utf8(env, "tsmio.pollAsync", NAPI_AUTO_LENGTH, &name);
  napi_async_init(env, NULL, name, &w->ctx);
  napi_value ext;
  napi_create_external(env, w, NULL, NULL, &ext);
  return ext;
}

/* watchStart(watcher): call back once the epoll fd is readable (keeps the loop alive). */
static napi_value watch_start(napi_env env, napi_callback_info info) {
  GET_ARGS(1);
  watcher_t *w;
  if (!arg_watcher(env, argv[0], &w)) return NULL;
  return num(env, uv_poll_start(&w->handle, UV_READABLE, on_readable));
}

/* watchStop(watcher): no more callbacks until the next start. */
static napi_value watch_stop(napi_env env, napi_callback_info info) {
  GET_ARGS(1);
  watcher_t *w;
  if (!arg_watcher(env, argv[0], &w)) return NULL;
  return num(env, uv_poll_stop(&w->handle));
}

static napi_value watch_close(napi_env env, napi_callback_info info) {
  GET_ARGS(1);
  watcher_t *w;
  if (napi_get_value_external(env, argv[0], (void **)&w) != napi_ok || w == NULL) return NULL;
  watcher_close(w);
  return NULL;
}

void init_watch(napi_env env, napi_value exports) {
  register_fn(env, exports, "watchCreate", watch_create);
  register_fn(env, exports, "watchStart", watch_start);
  register_fn(env, exports, "watchStop", watch_stop);
  register_fn(env, exports, "watchClose", watch_close);
}
