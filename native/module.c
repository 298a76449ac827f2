/* The tsmio addon: epoll, eventfd and socket syscalls for src/poll and src/net;
 * TUN devices, rtnetlink and network namespaces for src/tun. */
#include "napi_util.h"

static napi_value init(napi_env env, napi_value exports) {
  init_errno(env, exports);
  init_epoll(env, exports);
  init_socket(env, exports);
  init_io(env, exports);
  init_watch(env, exports);
  init_tun(env, exports);
  init_netlink(env, exports);
  init_netns(env, exports);
  init_fdpass(env, exports);
  init_reap(env, exports);
  return exports;
}

NAPI_MODULE(NODE_GYP_MODULE_NAME, init)
