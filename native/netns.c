/* Network namespaces of the calling thread. A namespace change made here
 * applies to this thread only (Node's other threads, such as the libuv pool,
 * stay where they were); sockets and TUN devices opened by this thread, and
 * processes it spawns, live in its namespace. */
#include "napi_util.h"
#include <fcntl.h>
#include <sched.h>
#include <unistd.h>

/* netnsOpen() -> an fd for the calling thread's current network namespace | -errno */
static napi_value netns_open_js(napi_env env, napi_callback_info info) {
  return result(env, open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC));
}

/* netnsUnshare() -> 0 | -errno: moves the calling thread into a new, empty
 * network namespace (only a down loopback interface). Needs CAP_SYS_ADMIN. */
static napi_value netns_unshare_js(napi_env env, napi_callback_info info) {
  return result(env, unshare(CLONE_NEWNET));
}

/* netnsEnter(fd) -> 0 | -errno: moves the calling thread into the network
 * namespace `fd` refers to (from netnsOpen). */
static napi_value netns_enter_js(napi_env env, napi_callback_info info) {
  GET_ARGS(1);
  int32_t fd;
  if (!arg_int32(env, argv[0], &fd)) return NULL;
  return result(env, setns(fd, CLONE_NEWNET));
}

void init_netns(napi_env env, napi_value exports) {
  register_fn(env, exports, "netnsOpen", netns_open_js);
  register_fn(env, exports, "netnsUnshare", netns_unshare_js);
  register_fn(env, exports, "netnsEnter", netns_enter_js);
}
