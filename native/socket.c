/* Socket lifecycle and options. Addresses travel as raw sockaddr bytes built
 * and decoded in JS (src/net/sockaddr.ts): an "address buffer" is 132 bytes,
 * see napi_util.h. */
#include "napi_util.h"
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

/* socket(domain, type, protocol) -> fd, always non-blocking and close-on-exec */
static napi_value socket_js(napi_env env, napi_callback_info info) {
  GET_ARGS(3);
  int32_t d, t, p;
  if (!arg_int32(env, argv[0], &d) || !arg_int32(env, argv[1], &t) || !arg_int32(env, argv[2], &p))
    return NULL;
  return result(env, socket(d, t | SOCK_NONBLOCK | SOCK_CLOEXEC, p));
}

/* socketpair(domain, type, out: Int32Array(2)) -> 0 */
static napi_value socketpair_js(napi_env env, napi_callback_info info) {
  GET_ARGS(3);
  int32_t d, t;
  napi_typedarray_type type;
  size_t length;
  void *data;
  if (!arg_int32(env, argv[0], &d) || !arg_int32(env, argv[1], &t)) return NULL;
  if (napi_get_typedarray_info(env, argv[2], &type, &length, &data, NULL, NULL) != napi_ok ||
      type != napi_int32_array || length < 2) {
    napi_throw_type_error(env, "ERR_INVALID_ARG_TYPE", "expected an Int32Array(2)");
    return NULL;
  }
  return result(env, socketpair(d, t | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, (int *)data));
}

/* pipe(out: Int32Array(2)) -> 0; [read end, write end], non-blocking */
static napi_value pipe_js(napi_env env, napi_callback_info info) {
  GET_ARGS(1);
  napi_typedarray_type type;
  size_t length;
  void *data;
  if (napi_get_typedarray_info(env, argv[0], &type, &length, &data, NULL, NULL) != napi_ok ||
      type != napi_int32_array || length < 2) {
    napi_throw_type_error(env, "ERR_INVALID_ARG_TYPE", "expected an Int32Array(2)");
    return NULL;
  }
  return result(env, pipe2((int *)data, O_NONBLOCK | O_CLOEXEC));
}

#define ADDR_CALL(name, call)                                             \
  static napi_value name(napi_env env, napi_callback_info info) {         \
    GET_ARGS(2);                                                          \
    int32_t fd;                                                           \
    struct sockaddr *sa;                                                  \
    uint32_t len;                                                         \
    if (!arg_int32(env, argv[0], &fd) || !arg_addr(env, argv[1], &sa, &len)) \
      return NULL;                                                        \
    return result(env, call(fd, sa, len));                                \
  }
ADDR_CALL(bind_js, bind)
ADDR_CALL(connect_js, connect)

#define NAME_CALL(name, call)                                             \
  static napi_value name(napi_env env, napi_callback_info info) {         \
    GET_ARGS(2);                                                          \
    int32_t fd;                                                           \
    uint8_t *buf;                                                         \
    if (!arg_int32(env, argv[0], &fd) || !arg_addr_out(env, argv[1], &buf)) \
      return NULL;                                                        \
    socklen_t len = sizeof(struct sockaddr_storage);                      \
    int r = call(fd, (struct sockaddr *)buf, &len);                       \
    if (r >= 0) set_addr_len(buf, len);                                   \
    return result(env, r);                                                \
  }
NAME_CALL(getsockname_js, getsockname)
NAME_CALL(getpeername_js, getpeername)

static int accept_nb(int fd, struct sockaddr *sa, socklen_t *len) {
  return accept4(fd, sa, len, SOCK_NONBLOCK | SOCK_CLOEXEC);
}
/* accept(fd, addrOut) -> new fd, peer address written to addrOut */
NAME_CALL(accept_js, accept_nb)

static napi_value listen_js(napi_env env, napi_callback_info info) {
  GET_ARGS(2);
  int32_t fd, backlog;
  if (!arg_int32(env, argv[0], &fd) || !arg_int32(env, argv[1], &backlog)) return NULL;
  return result(env, listen(fd, backlog));
}

static napi_value shutdown_js(napi_env env, napi_callback_info info) {
  GET_ARGS(2);
  int32_t fd, how;
  if (!arg_int32(env, argv[0], &fd) || !arg_int32(env, argv[1], &how)) return NULL;
  return result(env, shutdown(fd, how));
}

static napi_value close_js(napi_env env, napi_callback_info info) {
  GET_ARGS(1);
  int32_t fd;
  if (!arg_int32(env, argv[0], &fd)) return NULL;
  return result(env, close(fd));
}

/* getsockopt(fd, level, name) -> value >= 0 | -errno (integer options only) */
static napi_value getsockopt_js(napi_env env, napi_callback_info info) {
  GET_ARGS(3);
  int32_t fd, level, name;
  if (!arg_int32(env, argv[0], &fd) || !arg_int32(env, argv[1], &level) ||
      !arg_int32(env, argv[2], &name))
    return NULL;
  int v = 0;
  socklen_t len = sizeof v;
  if (getsockopt(fd, level, name, &v, &len) < 0) return num(env, -errno);
  return num(env, v);
}

static napi_value setsockopt_js(napi_env env, napi_callback_info info) {
  GET_ARGS(4);
  int32_t fd, level, name, v;
  if (!arg_int32(env, argv[0], &fd) || !arg_int32(env, argv[1], &level) ||
      !arg_int32(env, argv[2], &name) || !arg_int32(env, argv[3], &v))
    return NULL;
  return result(env, setsockopt(fd, level, name, &v, sizeof v));
}

/* setsockoptBytes(fd, level, name, value: Uint8Array) -> 0 | -errno: options
 * whose value is a struct (ip_mreq, ipv6_mreq), built in JS. */
static napi_value setsockopt_bytes_js(napi_env env, napi_callback_info info) {
  GET_ARGS(4);
  int32_t fd, level, name;
  uint8_t *data;
  size_t len;
  if (!arg_int32(env, argv[0], &fd) || !arg_int32(env, argv[1], &level) ||
      !arg_int32(env, argv[2], &name) || !arg_bytes(env, argv[3], &data, &len))
    return NULL;
  return result(env, setsockopt(fd, level, name, data, (socklen_t)len));
}

/* setLinger(fd, onoff, seconds): SO_LINGER, used to reset a connection on close. */
static napi_value set_linger_js(napi_env env, napi_callback_info info) {
  GET_ARGS(3);
  int32_t fd, onoff, secs;
  if (!arg_int32(env, argv[0], &fd) || !arg_int32(env, argv[1], &onoff) ||
      !arg_int32(env, argv[2], &secs))
    return NULL;
  struct linger l = {.l_onoff = onoff, .l_linger = secs};
  return result(env, setsockopt(fd, SOL_SOCKET, SO_LINGER, &l, sizeof l));
}

void init_socket(napi_env env, napi_value exports) {
  register_fn(env, exports, "socket", socket_js);
  register_fn(env, exports, "socketpair", socketpair_js);
  register_fn(env, exports, "pipe", pipe_js);
  register_fn(env, exports, "bind", bind_js);
  register_fn(env, exports, "connect", connect_js);
  register_fn(env, exports, "listen", listen_js);
  register_fn(env, exports, "accept", accept_js);
  register_fn(env, exports, "getsockname", getsockname_js);
  register_fn(env, exports, "getpeername", getpeername_js);
  register_fn(env, exports, "shutdown", shutdown_js);
  register_fn(env, exports, "close", close_js);
  register_fn(env, exports, "getsockopt", getsockopt_js);
  register_fn(env, exports, "setsockopt", setsockopt_js);
  register_fn(env, exports, "setLinger", set_linger_js);
  register_fn(env, exports, "setsockoptBytes", setsockopt_bytes_js);
  register_int(env, exports, "ADDR_BUF_LEN", (int32_t)ADDR_BUF_LEN);
#define C(x) register_int(env, exports, #x, x);
  C(AF_INET) C(AF_INET6) C(AF_UNIX) C(SOCK_STREAM) C(SOCK_DGRAM) C(SOCK_SEQPACKET)
  C(SOL_SOCKET) C(SO_ERROR) C(SO_REUSEADDR) C(SO_BROADCAST) C(SO_TYPE) C(SO_RCVBUF) C(SO_SNDBUF)
  C(SO_KEEPALIVE) C(SO_LINGER) C(IPPROTO_IP) C(IPPROTO_IPV6) C(IPPROTO_TCP) C(IPPROTO_UDP)
  C(IP_TTL) C(IPV6_UNICAST_HOPS) C(IPV6_V6ONLY) C(TCP_NODELAY) C(TCP_KEEPIDLE) C(TCP_KEEPINTVL) C(TCP_KEEPCNT) C(SHUT_RD) C(SHUT_WR) C(SHUT_RDWR)
  C(MSG_PEEK) C(MSG_OOB) C(MSG_TRUNC) C(MSG_DONTWAIT) C(MSG_NOSIGNAL) C(MSG_WAITALL) C(SOMAXCONN)
  C(IP_MULTICAST_TTL) C(IP_MULTICAST_LOOP) C(IP_ADD_MEMBERSHIP) C(IP_DROP_MEMBERSHIP)
  C(IPV6_MULTICAST_LOOP) C(IPV6_ADD_MEMBERSHIP) C(IPV6_DROP_MEMBERSHIP)
#undef C
}
