/* Passing descriptors between processes over a Unix socket (SCM_RIGHTS
 * ancillary data, unix(7)): the sandbox launcher hands a TUN descriptor
 * opened inside a network namespace to the process outside it. */
#include "napi_util.h"
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

/* The kernel's limit on descriptors in one SCM_RIGHTS message (SCM_MAX_FD). */
#define FDPASS_MAX 253

/* An Int32Array argument: its elements and count; throws a TypeError otherwise. */
static int arg_int32_array(napi_env env, napi_value v, int32_t **data, size_t *len) {
  bool is_ta = false;
  napi_typedarray_type type;
  void *ptr;
  if (napi_is_typedarray(env, v, &is_ta) != napi_ok || !is_ta ||
      napi_get_typedarray_info(env, v, &type, len, &ptr, NULL, NULL) != napi_ok ||
      type != napi_int32_array) {
    napi_throw_type_error(env, "ERR_INVALID_ARG_TYPE", "expected an Int32Array");
    return 0;
  }
  *data = (int32_t *)ptr;
  return 1;
}

/* sendFds(sock, fds: Int32Array, data: Uint8Array) -> bytes of data sent | -errno.
 * One sendmsg carrying `data` (at least one byte: a stream socket sends no
 * ancillary data without some) and the descriptors `fds` (1..253). */
static napi_value send_fds_js(napi_env env, napi_callback_info info) {
  GET_ARGS(3);
  int32_t sock;
  int32_t *fds;
  size_t nfds, len;
  uint8_t *data;
  if (!arg_int32(env, argv[0], &sock) || !arg_int32_array(env, argv[1], &fds, &nfds) ||
      !arg_bytes(env, argv[2], &data, &len))
    return NULL;
  if (nfds == 0 || nfds > FDPASS_MAX || len == 0) return result(env, -EINVAL);
  union {
    struct cmsghdr align;
    char buf[CMSG_SPACE(sizeof(int) * FDPASS_MAX)];
  } control;
  memset(&control, 0, sizeof(control));
  struct iovec iov = {.iov_base = data, .iov_len = len};
  struct msghdr msg = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = control.buf,
                       .msg_controllen = CMSG_SPACE(sizeof(int) * nfds)};
  struct cmsghdr *cm = CMSG_FIRSTHDR(&msg);
  cm->cmsg_level = SOL_SOCKET;
  cm->cmsg_type = SCM_RIGHTS;
  cm->cmsg_len = CMSG_LEN(sizeof(int) * nfds);
  memcpy(CMSG_DATA(cm), fds, sizeof(int) * nfds);
  ssize_t n = sendmsg(sock, &msg, MSG_NOSIGNAL);
  return result(env, n < 0 ? -errno : n);
}

/* recvFds(sock, data: Uint8Array, fdsOut: Int32Array) -> bytes read into data | -errno.
 * One recvmsg: descriptors that came with the bytes go to fdsOut in order
 * (close-on-exec set), the unused slots get -1. Descriptors beyond
 * fdsOut.length (at most 253) are discarded by the kernel. 0: end of stream. */
static napi_value recv_fds_js(napi_env env, napi_callback_info info) {
  GET_ARGS(3);
  int32_t sock;
  int32_t *out;
  size_t nout, len;
  uint8_t *data;
  if (!arg_int32(env, argv[0], &sock) || !arg_bytes(env, argv[1], &data, &len) ||
      !arg_int32_array(env, argv[2], &out, &nout))
    return NULL;
  if (len == 0) return result(env, -EINVAL);
  if (nout > FDPASS_MAX) nout = FDPASS_MAX;
  for (size_t i = 0; i < nout; i++) out[i] = -1;
  union {
    struct cmsghdr align;
    char buf[CMSG_SPACE(sizeof(int) * FDPASS_MAX)];
  } control;
  struct iovec iov = {.iov_base = data, .iov_len = len};
  struct msghdr msg = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = control.buf,
                       .msg_controllen = nout > 0 ? CMSG_SPACE(sizeof(int) * nout) : 0};
  if (nout == 0) msg.msg_control = NULL;
  ssize_t n = recvmsg(sock, &msg, MSG_CMSG_CLOEXEC);
  if (n < 0) return result(env, -errno);
  size_t got = 0;
  for (struct cmsghdr *cm = CMSG_FIRSTHDR(&msg); cm != NULL; cm = CMSG_NXTHDR(&msg, cm)) {
    if (cm->cmsg_level != SOL_SOCKET || cm->cmsg_type != SCM_RIGHTS) continue;
    size_t count = (cm->cmsg_len - CMSG_LEN(0)) / sizeof(int);
    for (size_t i = 0; i < count; i++) {
      int fd;
      memcpy(&fd, CMSG_DATA(cm) + i * sizeof(int), sizeof(int));
      if (got < nout) out[got++] = fd;
      else close(fd);
    }
  }
  return result(env, n);
}

void init_fdpass(napi_env env, napi_value exports) {
  register_fn(env, exports, "sendFds", send_fds_js);
  register_fn(env, exports, "recvFds", recv_fds_js);
}
