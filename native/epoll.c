/* epoll selector and eventfd waker.
 * epollWait writes (token, events) pairs into a caller-provided Float64Array,
 * so a poll allocates nothing on the JS heap. Tokens are carried in data.u64. */
#include "napi_util.h"
#include <stdlib.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

static __thread struct epoll_event *ev_buf = NULL;
static __thread int ev_cap = 0;

static napi_value epoll_create_js(napi_env env, napi_callback_info info) {
  return result(env, epoll_create1(EPOLL_CLOEXEC));
}

/* epollCtl(epfd, op, fd, events, token) -> 0 | -errno */
static napi_value epoll_ctl_js(napi_env env, napi_callback_info info) {
  GET_ARGS(5);
  int32_t epfd, op, fd, events;
  double token;
  if (!arg_int32(env, argv[0], &epfd) || !arg_int32(env, argv[1], &op) ||
      !arg_int32(env, argv[2], &fd) || !arg_int32(env, argv[3], &events) ||
      !arg_double(env, argv[4], &token))
    return NULL;
  struct epoll_event ev = {.events = (uint32_t)events, .data = {.u64 = (uint64_t)token}};
  return result(env, epoll_ctl(epfd, op, fd, &ev));
}

/* epollWait(epfd, out: Float64Array, first, maxEvents, timeoutMs) -> n | -errno.
 * Event i lands in slot first+i: out[2k] = token, out[2k+1] = epoll event bits.
 * EINTR is reported as 0 events. */
static napi_value epoll_wait_js(napi_env env, napi_callback_info info) {
  GET_ARGS(5);
  int32_t epfd, first, max, timeout;
  napi_typedarray_type type;
  size_t length;
  void *data;
  if (!arg_int32(env, argv[0], &epfd) || !arg_int32(env, argv[2], &first) ||
      !arg_int32(env, argv[3], &max) || !arg_int32(env, argv[4], &timeout))
    return NULL;
  if (napi_get_typedarray_info(env, argv[1], &type, &length, &data, NULL, NULL) != napi_ok ||
      type != napi_float64_array) {
    napi_throw_type_error(env, "ERR_INVALID_ARG_TYPE", "expected a Float64Array");
    return NULL;
  }
  if (first < 0 || max < 1 || ((size_t)first + (size_t)max) * 2 > length) {
    napi_throw_range_error(env, "ERR_OUT_OF_RANGE", "maxEvents does not fit the buffer");
    return NULL;
  }
  if (max > ev_cap) {
    struct epoll_event *nb = realloc(ev_buf, sizeof(struct epoll_event) * (size_t)max);
    if (nb == NULL) return num(env, -ENOMEM);
    ev_buf = nb;
    ev_cap = max;
  }
  int n = epoll_wait(epfd, ev_buf, max, timeout);
  if (n < 0) return num(env, errno == EINTR ? 0 : -errno);
  double *out = (double *)data + 2 * (size_t)first;
  for (int i = 0; i < n; i++) {
    out[2 * i] = (double)ev_buf[i].data.u64;
    out[2 * i + 1] = (double)ev_buf[i].events;
  }
  return num(env, n);
}

static napi_value eventfd_create_js(napi_env env, napi_callback_info info) {
  return result(env, eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC));
}

/* eventfdWrite(fd): add 1; if the counter is full, drain it and add again. */
static napi_value eventfd_write_js(napi_env env, napi_callback_info info) {
  GET_ARGS(1);
  int32_t fd;
  if (!arg_int32(env, argv[0], &fd)) return NULL;
  uint64_t one = 1, drained;
  ssize_t r = write(fd, &one, sizeof one);
  if (r < 0 && errno == EAGAIN) {
    if (read(fd, &drained, sizeof drained) < 0 && errno != EAGAIN) return num(env, -errno);
    r = write(fd, &one, sizeof one);
  }
  return r < 0 ? num(env, -errno) : num(env, 0);
}

/* eventfdRead(fd): reset the counter; 0, or -EAGAIN when it was already 0. */
static napi_value eventfd_read_js(napi_env env, napi_callback_info info) {
  GET_ARGS(1);
  int32_t fd;
  if (!arg_int32(env, argv[0], &fd)) return NULL;
  uint64_t v;
  return read(fd, &v, sizeof v) < 0 ? num(env, -errno) : num(env, 0);
}

void init_epoll(napi_env env, napi_value exports) {
  register_fn(env, exports, "epollCreate", epoll_create_js);
  register_fn(env, exports, "epollCtl", epoll_ctl_js);
  register_fn(env, exports, "epollWait", epoll_wait_js);
  register_fn(env, exports, "eventfdCreate", eventfd_create_js);
  register_fn(env, exports, "eventfdWrite", eventfd_write_js);
  register_fn(env, exports, "eventfdRead", eventfd_read_js);
  register_int(env, exports, "EPOLL_CTL_ADD", EPOLL_CTL_ADD);
  register_int(env, exports, "EPOLL_CTL_MOD", EPOLL_CTL_MOD);
  register_int(env, exports, "EPOLL_CTL_DEL", EPOLL_CTL_DEL);
  register_int(env, exports, "EPOLLIN", EPOLLIN);
  register_int(env, exports, "EPOLLOUT", EPOLLOUT);
  register_int(env, exports, "EPOLLPRI", EPOLLPRI);
  register_int(env, exports, "EPOLLERR", EPOLLERR);
  register_int(env, exports, "EPOLLHUP", EPOLLHUP);
  register_int(env, exports, "EPOLLRDHUP", EPOLLRDHUP);
  register_int(env, exports, "EPOLLET", (int32_t)EPOLLET);
}
