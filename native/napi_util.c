#include "napi_util.h"
#include <string.h>
#include <sys/socket.h>

_Static_assert(sizeof(struct sockaddr_storage) + 4 == ADDR_BUF_LEN, "address buffer layout");

int arg_int32(napi_env env, napi_value v, int32_t *out) {
  if (napi_get_value_int32(env, v, out) != napi_ok) {
    napi_throw_type_error(env, "ERR_INVALID_ARG_TYPE", "expected an integer");
    return 0;
  }
  return 1;
}

int arg_double(napi_env env, napi_value v, double *out) {
  if (napi_get_value_double(env, v, out) != napi_ok) {
    napi_throw_type_error(env, "ERR_INVALID_ARG_TYPE", "expected a number");
    return 0;
  }
  return 1;
}

int arg_bytes(napi_env env, napi_value v, uint8_t **data, size_t *len) {
  bool is_ta = false;
  napi_typedarray_type type;
  size_t length;
  void *ptr;
  size_t offset;
  if (napi_is_typedarray(env, v, &is_ta) != napi_ok || !is_ta ||
      napi_get_typedarray_info(env, v, &type, &length, &ptr, NULL, &offset) != napi_ok ||
      type != napi_uint8_array) {
    napi_throw_type_error(env, "ERR_INVALID_ARG_TYPE", "expected a Uint8Array");
    return 0;
  }
  *data = (uint8_t *)ptr;
  *len = length;
  return 1;
}

int arg_string(napi_env env, napi_value v, char *out, size_t cap) {
  size_t len;
  if (napi_get_value_string_utf8(env, v, NULL, 0, &len) != napi_ok) {
    napi_throw_type_error(env, "ERR_INVALID_ARG_TYPE", "expected a string");
    return 0;
  }
  if (len >= cap) {
    napi_throw_range_error(env, "ERR_OUT_OF_RANGE", "string too long");
    return 0;
  }
  napi_get_value_string_utf8(env, v, out, cap, &len);
  return 1;
}

napi_value num(napi_env env, double v) {
  napi_value out;
  napi_create_double(env, v, &out);
  return out;
}

napi_value result(napi_env env, long r) {
  napi_value out;
  napi_create_int32(env, r < 0 ? -errno : (int32_t)r, &out);
  return out;
}

void register_fn(napi_env env, napi_value exports, const char *name, napi_callback cb) {
  napi_value fn;
  napi_create_function(env, name, NAPI_AUTO_LENGTH, cb, NULL, &fn);
  napi_set_named_property(env, exports, name, fn);
}

void register_int(napi_env env, napi_value exports, const char *name, int32_t v) {
  napi_value n;
  napi_create_int32(env, v, &n);
  napi_set_named_property(env, exports, name, n);
}

int arg_addr_out(napi_env env, napi_value v, uint8_t **buf) {
  size_t n;
  if (!arg_bytes(env, v, buf, &n)) return 0;
  if (n < ADDR_BUF_LEN) {
    napi_throw_type_error(env, "ERR_INVALID_ARG", "address buffer too small");
    return 0;
  }
  return 1;
}

int arg_addr(napi_env env, napi_value v, struct sockaddr **sa, uint32_t *len) {
  uint8_t *data;
  if (!arg_addr_out(env, v, &data)) return 0;
  uint32_t l;
  memcpy(&l, data + sizeof(struct sockaddr_storage), sizeof l);
  if (l > sizeof(struct sockaddr_storage)) {
    napi_throw_type_error(env, "ERR_INVALID_ARG", "bad address length");
    return 0;
  }
  *sa = (struct sockaddr *)data;
  *len = l;
  return 1;
}

void set_addr_len(uint8_t *buf, uint32_t len) {
  memcpy(buf + sizeof(struct sockaddr_storage), &len, sizeof len);
}
