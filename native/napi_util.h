/* Small helpers shared by the native modules: argument unpacking and errors.
 * Every syscall wrapper returns a JS number: >= 0 on success, -errno on failure,
 * so the hot path never builds an exception object in C. */
#ifndef TSMIO_NAPI_UTIL_H
#define TSMIO_NAPI_UTIL_H

#ifndef NAPI_VERSION
#define NAPI_VERSION 8
#endif
#include <node_api.h>
#include <errno.h>
#include <stddef.h>
#include <stdint.h>

#define MAX_ARGS 10

#define GET_ARGS(n)                                                        \
  size_t argc = (n);                                                       \
  napi_value argv[MAX_ARGS];                                               \
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok)     \
    return NULL;                                                           \
  if (argc < (n)) {                                                        \
    napi_throw_type_error(env, "ERR_INVALID_ARG", "missing argument");     \
    return NULL;                                                           \
  }

/* Argument readers: on failure they throw a TypeError and return 0. */
int arg_int32(napi_env env, napi_value v, int32_t *out);
int arg_double(napi_env env, napi_value v, double *out);
/* A Uint8Array (or Buffer): pointer and length of its bytes, no copy. */
int arg_bytes(napi_env env, napi_value v, uint8_t **data, size_t *len);
/* A string of at most cap-1 UTF-8 bytes, NUL-terminated into out; longer ones
 * throw a RangeError. */
int arg_string(napi_env env, napi_value v, char *out, size_t cap);

/* An address buffer: a sockaddr_storage followed by its length (native-endian
 * uint32), built and decoded in JS (src/net/sockaddr.ts). */
#define ADDR_BUF_LEN (128 + 4)
struct sockaddr;
/* Reads an address buffer argument: the sockaddr and the length stored at its end. */
int arg_addr(napi_env env, napi_value v, struct sockaddr **sa, uint32_t *len);
/* Checks that v is an address buffer to be filled; returns its bytes. */
int arg_addr_out(napi_env env, napi_value v, uint8_t **buf);
void set_addr_len(uint8_t *buf, uint32_t len);

napi_value num(napi_env env, double v);
/* Returns a number: r if r >= 0, otherwise -errno. */
napi_value result(napi_env env, long r);

void register_fn(napi_env env, napi_value exports, const char *name, napi_callback cb);
void register_int(napi_env env, napi_value exports, const char *name, int32_t v);

void init_epoll(napi_env env, napi_value exports);
void init_socket(napi_env env, napi_value exports);
void init_io(napi_env env, napi_value exports);
void init_watch(napi_env env, napi_value exports);
void init_errno(napi_env env, napi_value exports);
void init_tun(napi_env env, napi_value exports);
void init_netlink(napi_env env, napi_value exports);
void init_netns(napi_env env, napi_value exports);
void init_fdpass(napi_env env, napi_value exports);
void init_reap(napi_env env, napi_value exports);

#endif
