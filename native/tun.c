/* TUN devices: a layer-3 interface whose packets a descriptor reads and writes.
 * Reads are batched: one call drains many packets into fixed-size slots of one
 * caller-provided buffer, so the JS side crosses into C once per burst. */
#include "napi_util.h"
#include <fcntl.h>
#include <linux/if_tun.h>
#include <net/if.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

/* tunOpen(path, name, nameOut: Uint8Array(IFNAMSIZ)) -> fd | -errno.
 * Opens the clone device at `path` (normally /dev/net/tun) non-blocking and
 * close-on-exec, and attaches it to a TUN interface without packet
 * information (IFF_TUN | IFF_NO_PI): every read or write is one bare IP packet.
 * `name` "" lets the kernel choose (tun0, tun1, ...); the actual name is
 * written to nameOut, NUL-terminated. */
static napi_value tun_open_js(napi_env env, napi_callback_info info) {
  GET_ARGS(3);
  char path[4096], name[IFNAMSIZ];
  uint8_t *out;
  size_t out_len;
  if (!arg_string(env, argv[0], path, sizeof path) || !arg_string(env, argv[1], name, sizeof name) ||
      !arg_bytes(env, argv[2], &out, &out_len))
    return NULL;
  if (out_len < IFNAMSIZ) {
    napi_throw_range_error(env, "ERR_OUT_OF_RANGE", "name buffer smaller than IFNAMSIZ");
    return NULL;
  }
  int fd = open(path, O_RDWR | O_NONBLOCK | O_CLOEXEC);
  if (fd < 0) return num(env, -errno);
  struct ifreq ifr;
  memset(&ifr, 0, sizeof ifr);
  ifr.ifr_flags = IFF_TUN | IFF_NO_PI;
  memcpy(ifr.ifr_name, name, strlen(name));
  if (ioctl(fd, TUNSETIFF, &ifr) < 0) {
    int e = errno;
    close(fd);
    return num(env, -e);
  }
  memset(out, 0, IFNAMSIZ);
  memcpy(out, ifr.ifr_name, strnlen(ifr.ifr_name, IFNAMSIZ - 1));
  return num(env, fd);
}

/* tunReadBatch(fd, buf, slotSize, lens: Int32Array, max) -> count | -errno.
 * Reads packets until the device has none (EAGAIN) or `max` were read; packet
 * i lands at buf[i * slotSize], its length in lens[i]. A length above
 * slotSize means the packet did not fit and was cut (the kernel reports the
 * full length). An error after some packets ends the batch early; it repeats
 * on the next call. 0 means no packet was waiting. */
static napi_value tun_read_batch_js(napi_env env, napi_callback_info info) {
  GET_ARGS(5);
  int32_t fd, slot, max;
  uint8_t *buf;
  size_t buf_len;
  napi_typedarray_type type;
  size_t lens_len;
  void *lens_data;
  if (!arg_int32(env, argv[0], &fd) || !arg_bytes(env, argv[1], &buf, &buf_len) ||
      !arg_int32(env, argv[2], &slot) || !arg_int32(env, argv[4], &max))
    return NULL;
  if (napi_get_typedarray_info(env, argv[3], &type, &lens_len, &lens_data, NULL, NULL) != napi_ok ||
      type != napi_int32_array) {
    napi_throw_type_error(env, "ERR_INVALID_ARG_TYPE", "expected an Int32Array of lengths");
    return NULL;
  }
  if (slot < 1 || max < 1 || (size_t)max > lens_len || (size_t)max * (size_t)slot > buf_len) {
    napi_throw_range_error(env, "ERR_OUT_OF_RANGE", "max slots do not fit the buffers");
    return NULL;
  }
  int32_t *lens = lens_data;
  int32_t n = 0;
  while (n < max) {
    ssize_t r = read(fd, buf + (size_t)n * (size_t)slot, (size_t)slot);
    if (r < 0) {
      if (errno == EINTR) continue;
      if (n > 0 || errno == EAGAIN) break;
      return num(env, -errno);
    }
    lens[n++] = (int32_t)r;
  }
  return num(env, n);
}

void init_tun(napi_env env, napi_value exports) {
  register_fn(env, exports, "tunOpen", tun_open_js);
  register_fn(env, exports, "tunReadBatch", tun_read_batch_js);
  register_int(env, exports, "IFNAMSIZ", IFNAMSIZ);
}
