/* Reads and writes straight between a descriptor and the caller's Uint8Arrays. */
#include "napi_util.h"
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#define MAX_IOV 1024 /* IOV_MAX on Linux */

static int fd_buf(napi_env env, napi_callback_info info, size_t want, napi_value *argv,
                  int32_t *fd, uint8_t **buf, size_t *len) {
  size_t argc = want;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok) return 0;
  if (argc < want) {
    napi_throw_type_error(env, "ERR_INVALID_ARG", "missing argument");
    return 0;
  }
  return arg_int32(env, argv[0], fd) && arg_bytes(env, argv[1], buf, len);
}

/* read(fd, buf) -> bytes read | -errno */
static napi_value read_js(napi_env env, napi_callback_info info) {
  napi_value argv[2];
  int32_t fd;
  uint8_t *buf;
  size_t len;
  if (!fd_buf(env, info, 2, argv, &fd, &buf, &len)) return NULL;
  return result(env, read(fd, buf, len));
}

/* write(fd, buf) -> bytes written | -errno */
static napi_value write_js(napi_env env, napi_callback_info info) {
  napi_value argv[2];
  int32_t fd;
  uint8_t *buf;
  size_t len;
  if (!fd_buf(env, info, 2, argv, &fd, &buf, &len)) return NULL;
  return result(env, write(fd, buf, len));
}

/* recv(fd, buf, flags) -> bytes | -errno (MSG_PEEK, MSG_OOB, ...) */
static napi_value recv_js(napi_env env, napi_callback_info info) {
  napi_value argv[3];
  int32_t fd, flags;
  uint8_t *buf;
  size_t len;
  if (!fd_buf(env, info, 3, argv, &fd, &buf, &len) || !arg_int32(env, argv[2], &flags))
    return NULL;
  return result(env, recv(fd, buf, len, flags));
}

/* send(fd, buf, flags) -> bytes | -errno; never raises SIGPIPE */
static napi_value send_js(napi_env env, napi_callback_info info) {
  napi_value argv[3];
  int32_t fd, flags;
  uint8_t *buf;
  size_t len;
  if (!fd_buf(env, info, 3, argv, &fd, &buf, &len) || !arg_int32(env, argv[2], &flags))
    return NULL;
  return result(env, send(fd, buf, len, flags | MSG_NOSIGNAL));
}

/* recvfrom(fd, buf, flags, addrOut) -> bytes | -errno; the sender's address in addrOut */
static napi_value recvfrom_js(napi_env env, napi_callback_info info) {
  napi_value argv[4];
  int32_t fd, flags;
  uint8_t *buf, *addr;
  size_t len;
  if (!fd_buf(env, info, 4, argv, &fd, &buf, &len) || !arg_int32(env, argv[2], &flags) ||
      !arg_addr_out(env, argv[3], &addr))
    return NULL;
  socklen_t sl = sizeof(struct sockaddr_storage);
  memset(addr, 0, sizeof(sa_family_t));
  ssize_t r = recvfrom(fd, buf, len, flags, (struct sockaddr *)addr, &sl);
  if (r >= 0) set_addr_len(addr, sl);
  return result(env, r);
}

/* sendto(fd, buf, flags, addr) -> bytes | -errno */
static napi_value sendto_js(napi_env env, napi_callback_info info) {
  napi_value argv[4];
  int32_t fd, flags;
  uint8_t *buf;
  size_t len;
  struct sockaddr *sa;
  uint32_t l;
  if (!fd_buf(env, info, 4, argv, &fd, &buf, &len) || !arg_int32(env, argv[2], &flags) ||
      !arg_addr(env, argv[3], &sa, &l))
    return NULL;
  return result(env, sendto(fd, buf, len, flags | MSG_NOSIGNAL, sa, l));
}

/* Fills iov from a JS array of Uint8Arrays (at most MAX_IOV non-empty ones);
 * returns the count or -1 after throwing. */
static int iov_from(napi_env env, napi_value arr, struct iovec *iov) {
  bool is_arr = false;
  uint32_t n;
  if (napi_is_array(env, arr, &is_arr) != napi_ok || !is_arr) {
    napi_throw_type_error(env, "ERR_INVALID_ARG_TYPE", "expected an array of Uint8Array");
    return -1;
  }
  napi_get_array_length(env, arr, &n);
  int used = 0;
  /* empty buffers are skipped, so a short transfer means real backpressure */
  for (uint32_t i = 0; i < n && used < MAX_IOV; i++) {
    napi_value el;
    uint8_t *data;
    size_t len;
    napi_get_element(env, arr, i, &el);
    if (!arg_bytes(env, el, &data, &len)) return -1;
    if (len == 0) continue;
    iov[used].iov_base = data;
    iov[used].iov_len = len;
    used++;
  }
  return used;
}

/* readv(fd, bufs) / writev(fd, bufs) for any descriptor; sockets write with
 * sendmsg(MSG_NOSIGNAL) so a closed peer is EPIPE, not a signal. */
static napi_value vec_io(napi_env env, napi_callback_info info, int kind) {
  GET_ARGS(2);
  int32_t fd;
  static __thread struct iovec iov[MAX_IOV];
  if (!arg_int32(env, argv[0], &fd)) return NULL;
  int n = iov_from(env, argv[1], iov);
  if (n < 0) return NULL;
  struct msghdr msg = {.msg_iov = iov, .msg_iovlen = (size_t)n};
  switch (kind) {
    case 0: return result(env, readv(fd, iov, n));
    case 1: return result(env, writev(fd, iov, n));
    default: return result(env, sendmsg(fd, &msg, MSG_NOSIGNAL));
  }
}
static napi_value readv_js(napi_env env, napi_callback_info info) { return vec_io(env, info, 0); }
static napi_value writev_js(napi_env env, napi_callback_info info) { return vec_io(env, info, 1); }
static napi_value sendv_js(napi_env env, napi_callback_info info) { return vec_io(env, info, 2); }

void init_io(napi_env env, napi_value exports) {
  register_fn(env, exports, "read", read_js);
  register_fn(env, exports, "write", write_js);
  register_fn(env, exports, "recv", recv_js);
  register_fn(env, exports, "send", send_js);
  register_fn(env, exports, "recvfrom", recvfrom_js);
  register_fn(env, exports, "sendto", sendto_js);
  register_fn(env, exports, "readv", readv_js);
  register_fn(env, exports, "writev", writev_js);
  register_fn(env, exports, "sendv", sendv_js);
  register_int(env, exports, "MAX_IOV", MAX_IOV);
}
