/* errno numbers to names (ECONNREFUSED, ...) and messages, for IoError. */
#include "napi_util.h"
#include <stdio.h>
#include <string.h>

#define ERRNO_LIST(X)                                                                      \
  X(EPERM) X(ENOENT) X(ESRCH) X(EINTR) X(EIO) X(ENXIO) X(E2BIG) X(EBADF) X(EBADFD) X(EAGAIN)         \
  X(ENOMEM) X(EACCES) X(EFAULT) X(EBUSY) X(EEXIST) X(ENODEV) X(ENOTDIR) X(EISDIR)          \
  X(EINVAL) X(ENFILE) X(EMFILE) X(ENOSPC) X(ESPIPE) X(EPIPE) X(ERANGE) X(ENAMETOOLONG)      \
  X(ENOSYS) X(ENOTEMPTY) X(ELOOP) X(ENOTSOCK) X(EDESTADDRREQ) X(EMSGSIZE) X(EPROTOTYPE)     \
  X(ENOPROTOOPT) X(EPROTONOSUPPORT) X(ESOCKTNOSUPPORT) X(EOPNOTSUPP) X(EPFNOSUPPORT)        \
  X(EAFNOSUPPORT) X(EADDRINUSE) X(EADDRNOTAVAIL) X(ENETDOWN) X(ENETUNREACH) X(ENETRESET)    \
  X(ECONNABORTED) X(ECONNRESET) X(ENOBUFS) X(EISCONN) X(ENOTCONN) X(ESHUTDOWN)             \
  X(ETIMEDOUT) X(ECONNREFUSED) X(EHOSTDOWN) X(EHOSTUNREACH) X(EALREADY) X(EINPROGRESS)     \
  X(EROFS) X(ETXTBSY) X(EXDEV) X(EMLINK) X(ENOTTY) X(EPROTO) X(ENODATA) X(EOVERFLOW)        \
  X(ECANCELED) X(EDOM) X(ENOTBLK) X(ECHILD)

/* errnoName(n): "ECONNREFUSED", or "E<n>" for numbers not in the list. */
static napi_value errno_name(napi_env env, napi_callback_info info) {
  GET_ARGS(1);
  int32_t n;
  if (!arg_int32(env, argv[0], &n)) return NULL;
  const char *name = NULL;
  char buf[32];
  switch (n) {
#define CASE(e) case e: name = #e; break;
    ERRNO_LIST(CASE)
#undef CASE
    default:
      snprintf(buf, sizeof buf, "E%d", n);
      name = buf;
  }
  napi_value out;
  napi_create_string_utf8(env, name, NAPI_AUTO_LENGTH, &out);
  return out;
}

/* strerror(n): the C library's message for errno n. */
static napi_value str_error(napi_env env, napi_callback_info info) {
  GET_ARGS(1);
  int32_t n;
  if (!arg_int32(env, argv[0], &n)) return NULL;
  char buf[256];
  const char *msg = strerror_r(n, buf, sizeof buf);
  napi_value out;
  napi_create_string_utf8(env, msg, NAPI_AUTO_LENGTH, &out);
  return out;
}

void init_errno(napi_env env, napi_value exports) {
  register_fn(env, exports, "errnoName", errno_name);
  register_fn(env, exports, "strerror", str_error);
  napi_value codes;
  napi_create_object(env, &codes);
#define CODE(e) register_int(env, codes, #e, e);
  ERRNO_LIST(CODE)
#undef CODE
  napi_set_named_property(env, exports, "errno", codes);
}
