/* TUN devices: a layer-3 interface whose packets a descriptor reads and writes.
 * Reads are batched: one call drains many packets into one caller-provided
 * buffer, so the JS side crosses into C once per burst.
 *
 * With offloads (IFF_VNET_HDR and TUNSETOFFLOAD), every packet carries a
 * virtio-net header, and TCP crosses the interface in segments of up to
 * 64 KiB both ways: the kernel hands over what its TCP sends unsegmented
 * (TSO) with the checksum left to the reader, which completes it; and the
 * writer joins consecutive TCP segments of the userspace stack into one
 * (GSO), which the kernel's TCP takes whole, as from a NIC that merged them
 * (GRO). Far fewer packets, and so far less work, for the same bytes. */
#include "napi_util.h"
#include <fcntl.h>
#include <linux/if_tun.h>
#include <linux/virtio_net.h>
#include <net/if.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/uio.h>
#include <unistd.h>

#define VNET_HDR_LEN ((int32_t)sizeof(struct virtio_net_hdr))
/* Room for the largest packet the kernel hands a TUN reader with TSO (its GSO
 * limit, 64 KiB), and then some. */
#define MAX_OFFLOAD_PACKET (65536 + 64)

/* tunOpen(path, name, nameOut: Uint8Array(IFNAMSIZ), offload) -> fd | -errno.
 * Opens the clone device at `path` (normally /dev/net/tun) non-blocking and
 * close-on-exec, and attaches it to a TUN interface without packet
 * information (IFF_TUN | IFF_NO_PI): every read or write is one bare IP packet.
 * With `offload` 1, each packet is preceded by a struct virtio_net_hdr
 * (IFF_VNET_HDR) and the kernel may send packets with checksums left to us
 * and TCP segments of up to 64 KiB (TUN_F_CSUM | TUN_F_TSO4 | TUN_F_TSO6):
 * read with tunReadOffload, write with tunWriteOffload and tunWriteJoined.
 * `name` "" lets the kernel choose (tun0, tun1, ...); the actual name is
 * written to nameOut, NUL-terminated. */
static napi_value tun_open_js(napi_env env, napi_callback_info info) {
  GET_ARGS(4);
  char path[4096], name[IFNAMSIZ];
  uint8_t *out;
  size_t out_len;
  int32_t offload;
  if (!arg_string(env, argv[0], path, sizeof path) || !arg_string(env, argv[1], name, sizeof name) ||
      !arg_bytes(env, argv[2], &out, &out_len) || !arg_int32(env, argv[3], &offload))
    return NULL;
  if (out_len < IFNAMSIZ) {
    napi_throw_range_error(env, "ERR_OUT_OF_RANGE", "name buffer smaller than IFNAMSIZ");
    return NULL;
  }
  int fd = open(path, O_RDWR | O_NONBLOCK | O_CLOEXEC);
  if (fd < 0) return num(env, -errno);
  struct ifreq ifr;
  memset(&ifr, 0, sizeof ifr);
  ifr.ifr_flags = IFF_TUN | IFF_NO_PI | (offload ? IFF_VNET_HDR : 0);
  memcpy(ifr.ifr_name, name, strlen(name));
  if (ioctl(fd, TUNSETIFF, &ifr) < 0 ||
      (offload && ioctl(fd, TUNSETOFFLOAD, (unsigned long)(TUN_F_CSUM | TUN_F_TSO4 | TUN_F_TSO6)) < 0)) {
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

/* ---- offloads ------------------------------------------------------------ */

static void put16(uint8_t *p, uint32_t v) { p[0] = (uint8_t)(v >> 8); p[1] = (uint8_t)v; }

/* Adds n bytes at p to a one's complement sum (RFC 1071). Words are summed in
 * host order, which gives the checksum in network order once folded and
 * stored the same way. Only the last piece of a sum may have an odd length. */
static uint64_t csum_add(uint64_t sum, const uint8_t *p, size_t n) {
  while (n >= 16) {
    uint64_t a, b;
    memcpy(&a, p, 8);
    memcpy(&b, p + 8, 8);
    sum += (a & 0xffffffffu) + (a >> 32) + (b & 0xffffffffu) + (b >> 32);
    p += 16;
    n -= 16;
  }
  while (n >= 2) {
    uint16_t w;
    memcpy(&w, p, 2);
    sum += w;
    p += 2;
    n -= 2;
  }
  if (n) {
    uint8_t last[2] = {p[0], 0};
    uint16_t w;
    memcpy(&w, last, 2);
    sum += w;
  }
  return sum;
}

/* Folds a one's complement sum to 16 bits. */
static uint64_t csum_fold(uint64_t sum) {
  while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
  return sum;
}

/* Stores the checksum of `sum` (folded and inverted; 0 goes out as 0xffff,
 * its other form) at p, in network order. */
static void csum_store(uint8_t *p, uint64_t sum) {
  uint16_t c = (uint16_t)~csum_fold(sum);
  if (c == 0) c = 0xffff;
  memcpy(p, &c, 2);
}

/* Host-order word of a 16-bit value in network order, for csum_add. */
static uint64_t csum_word(uint16_t v) {
  uint8_t b[2] = {(uint8_t)(v >> 8), (uint8_t)v};
  uint16_t w;
  memcpy(&w, b, 2);
  return w;
}

/* tunReadOffload(fd, buf, offsets: Int32Array, lens: Int32Array,
 *                verified: Uint8Array, max) -> count | -errno.
 * tunReadBatch for a descriptor opened with offloads: reads packets with
 * their virtio-net header until EAGAIN, `max` packets, or less than 64 KiB
 * of `buf` left; packet i at buf[offsets[i]], lens[i] bytes long (packed,
 * each at a multiple of 8). A TSO segment of the kernel stays whole (up to
 * 64 KiB, longer than the MTU). A packet whose checksum the kernel left to
 * the reader gets it here; verified[i] is 1 when the packet's TCP/UDP
 * checksum is known to be good (computed here from the kernel's own data,
 * or checked by the kernel), 0 when nobody checked it. */
static napi_value tun_read_offload_js(napi_env env, napi_callback_info info) {
  GET_ARGS(6);
  int32_t fd, max;
  uint8_t *buf, *verified;
  size_t buf_len, verified_len, offs_len, lens_len;
  napi_typedarray_type offs_type, lens_type;
  void *offs_data, *lens_data;
  if (!arg_int32(env, argv[0], &fd) || !arg_bytes(env, argv[1], &buf, &buf_len) ||
      !arg_bytes(env, argv[4], &verified, &verified_len) || !arg_int32(env, argv[5], &max))
    return NULL;
  if (napi_get_typedarray_info(env, argv[2], &offs_type, &offs_len, &offs_data, NULL, NULL) != napi_ok ||
      offs_type != napi_int32_array ||
      napi_get_typedarray_info(env, argv[3], &lens_type, &lens_len, &lens_data, NULL, NULL) != napi_ok ||
      lens_type != napi_int32_array) {
    napi_throw_type_error(env, "ERR_INVALID_ARG_TYPE", "expected Int32Arrays of offsets and lengths");
    return NULL;
  }
  if (max < 1 || (size_t)max > offs_len || (size_t)max > lens_len || (size_t)max > verified_len ||
      buf_len < MAX_OFFLOAD_PACKET || buf_len > INT32_MAX) {
    napi_throw_range_error(env, "ERR_OUT_OF_RANGE", "max packets do not fit the arrays, or the buffer is under 64 KiB");
    return NULL;
  }
  int32_t *offs = offs_data, *lens = lens_data;
  int32_t n = 0;
  size_t at = 0;
  while (n < max && buf_len - at >= MAX_OFFLOAD_PACKET) {
    struct virtio_net_hdr h;
    struct iovec iov[2] = {{&h, sizeof h}, {buf + at, buf_len - at}};
    ssize_t r = readv(fd, iov, 2);
    if (r < 0) {
      if (errno == EINTR) continue;
      if (n > 0 || errno == EAGAIN) break;
      return num(env, -errno);
    }
    int32_t len = (int32_t)r - VNET_HDR_LEN;
    if (len <= 0) continue;
    uint8_t *p = buf + at;
    verified[n] = 0;
    if (h.flags & VIRTIO_NET_HDR_F_NEEDS_CSUM) {
      /* the field holds the pseudo-header sum; the rest is summed from csum_start */
      size_t start = h.csum_start, field = start + h.csum_offset;
      if (field + 2 <= (size_t)len) {
        csum_store(p + field, csum_add(0, p + start, (size_t)len - start));
        verified[n] = 1;
      }
    } else if (h.flags & VIRTIO_NET_HDR_F_DATA_VALID) {
      verified[n] = 1;
    }
    offs[n] = (int32_t)at;
    lens[n++] = len;
    at += ((size_t)len + 7) & ~(size_t)7;
  }
  return num(env, n);
}

/* Writes one packet behind a virtio-net header; bytes of the packet, or -errno. */
static ssize_t write_vnet(int fd, const struct virtio_net_hdr *h, struct iovec *iov, int iovcnt) {
  iov[0].iov_base = (void *)h;
  iov[0].iov_len = sizeof *h;
  ssize_t r;
  do r = writev(fd, iov, iovcnt);
  while (r < 0 && errno == EINTR);
  return r < 0 ? -errno : r - VNET_HDR_LEN;
}

/* tunWriteOffload(fd, packet) -> bytes | -errno: writes one packet to a
 * descriptor opened with offloads, behind an empty virtio-net header (the
 * kernel checks the packet's checksums). */
static napi_value tun_write_offload_js(napi_env env, napi_callback_info info) {
  GET_ARGS(2);
  int32_t fd;
  uint8_t *pkt;
  size_t len;
  if (!arg_int32(env, argv[0], &fd) || !arg_bytes(env, argv[1], &pkt, &len)) return NULL;
  static const struct virtio_net_hdr none;
  struct iovec iov[2] = {{NULL, 0}, {pkt, len}};
  return num(env, (double)write_vnet(fd, &none, iov, 2));
}

/* Offset of the TCP header of a segment SegmentJoiner accepted (IPv4 without
 * options, or IPv6 without extension headers). */
static size_t tcp_offset(const uint8_t *p) { return p[0] >> 4 == 4 ? 20 : 40; }

/* Whether the checksums of a TCP segment (and its IPv4 header) are good. */
static int segment_ok(const uint8_t *p, size_t len) {
  size_t l4 = tcp_offset(p);
  if (len < l4 + 20) return 0;
  uint64_t sum;
  if (l4 == 20) {
    if (csum_fold(csum_add(0, p, 20)) != 0xffff) return 0;
    sum = csum_add(0, p + 12, 8);
  } else {
    sum = csum_add(0, p + 8, 32);
  }
  sum += csum_word(6) + csum_word((uint16_t)(len - l4));
  return csum_fold(csum_add(sum, p + l4, len - l4)) == 0xffff;
}

#define MAX_JOIN 64

/* Writes segments first..last-1 of `staging` (packet i ends at ends[i], the
 * first starts at `from`) as one TCP segment behind a GSO header: the first
 * one's headers, with the IP length (and IPv4 header checksum) of the whole,
 * PSH if the last one has it, and the TCP checksum left to the kernel
 * (NEEDS_CSUM: the field holds the pseudo-header sum); then every payload. */
static ssize_t write_joined(int fd, const uint8_t *staging, const int32_t *ends, int32_t from, int first, int last, int32_t gso_size) {
  const uint8_t *p = staging + from;
  size_t l4 = tcp_offset(p), hlen = l4 + (size_t)(p[l4 + 12] >> 4) * 4;
  uint8_t head[120];
  struct iovec iov[2 + MAX_JOIN];
  size_t total = hlen;
  int32_t start = from;
  for (int i = first; i < last; i++) {
    iov[2 + i - first].iov_base = (void *)(staging + start + hlen);
    iov[2 + i - first].iov_len = (size_t)ends[i] - (size_t)start - hlen;
    total += iov[2 + i - first].iov_len;
    start = ends[i];
  }
  memcpy(head, p, hlen);
  const uint8_t *tail = staging + (last - 1 > first ? ends[last - 2] : from);
  head[l4 + 13] |= tail[l4 + 13] & 0x08; /* PSH */
  uint64_t sum;
  if (l4 == 20) {
    put16(head + 2, (uint32_t)total);
    head[10] = head[11] = 0;
    csum_store(head + 10, csum_add(0, head, 20));
    sum = csum_add(0, head + 12, 8);
  } else {
    put16(head + 4, (uint32_t)(total - 40));
    sum = csum_add(0, head + 8, 32);
  }
  uint16_t partial = (uint16_t)csum_fold(sum + csum_word(6) + csum_word((uint16_t)(total - l4)));
  memcpy(head + l4 + 16, &partial, 2);
  iov[1].iov_base = head;
  iov[1].iov_len = hlen;
  struct virtio_net_hdr h;
  memset(&h, 0, sizeof h);
  h.flags = VIRTIO_NET_HDR_F_NEEDS_CSUM;
  h.gso_type = l4 == 20 ? VIRTIO_NET_HDR_GSO_TCPV4 : VIRTIO_NET_HDR_GSO_TCPV6;
  h.hdr_len = (uint16_t)hlen;
  h.gso_size = (uint16_t)gso_size;
  h.csum_start = (uint16_t)l4;
  h.csum_offset = 16;
  return write_vnet(fd, &h, iov, 2 + last - first);
}

/* tunWriteJoined(fd, staging, ends: Int32Array, count, gsoSize) -> 0 | -errno.
 * Writes `count` consecutive TCP segments of one connection, packet i of
 * `staging` ending at ends[i] (checked by SegmentJoiner: same headers but
 * the sequence number, which runs on; gsoSize payload bytes each, the last
 * maybe fewer), joined into as few writes as possible. Segments are joined
 * only if their checksums are good, as a NIC merges only verified packets: a
 * damaged one is written alone, for the kernel to drop. Returns the first
 * write error. */
static napi_value tun_write_joined_js(napi_env env, napi_callback_info info) {
  GET_ARGS(5);
  int32_t fd, count, gso_size;
  uint8_t *staging;
  size_t staging_len, ends_len;
  napi_typedarray_type type;
  void *ends_data;
  if (!arg_int32(env, argv[0], &fd) || !arg_bytes(env, argv[1], &staging, &staging_len) ||
      !arg_int32(env, argv[3], &count) || !arg_int32(env, argv[4], &gso_size))
    return NULL;
  if (napi_get_typedarray_info(env, argv[2], &type, &ends_len, &ends_data, NULL, NULL) != napi_ok || type != napi_int32_array) {
    napi_throw_type_error(env, "ERR_INVALID_ARG_TYPE", "expected an Int32Array of packet ends");
    return NULL;
  }
  const int32_t *ends = ends_data;
  if (count < 1 || count > MAX_JOIN || (size_t)count > ends_len || gso_size < 1 || ends[count - 1] < 0 ||
      (size_t)ends[count - 1] > staging_len) {
    napi_throw_range_error(env, "ERR_OUT_OF_RANGE", "segments do not fit the staging buffer");
    return NULL;
  }
  for (int i = 0, start = 0; i < count; start = ends[i++]) {
    if (ends[i] - start < 40 || (size_t)(ends[i] - start) < tcp_offset(staging + start) + 20 || (i > 0 && ends[i] - start > ends[0])) {
      napi_throw_range_error(env, "ERR_OUT_OF_RANGE", "packet ends out of order, a packet too short for TCP or longer than the first");
      return NULL;
    }
  }
  static const struct virtio_net_hdr none;
  ssize_t err = 0;
  int i = 0;
  int32_t from = 0;
  while (i < count) {
    const uint8_t *p = staging + from;
    size_t l4 = tcp_offset(p), hlen = l4 + (size_t)(p[l4 + 12] >> 4) * 4, joined = hlen;
    int j = i;
    int32_t at = from;
    while (j < count && (size_t)(ends[j] - at) >= hlen && joined + (size_t)(ends[j] - at) - hlen <= 65535 &&
           segment_ok(staging + at, (size_t)(ends[j] - at))) {
      joined += (size_t)(ends[j] - at) - hlen;
      at = ends[j++];
    }
    ssize_t r;
    if (j - i >= 2) {
      r = write_joined(fd, staging, ends, from, i, j, gso_size);
    } else {
      /* a lone segment, or a damaged one (j == i): as it is */
      int k = j > i ? j : i + 1;
      struct iovec iov[2] = {{NULL, 0}, {staging + from, (size_t)(ends[k - 1] - from)}};
      r = write_vnet(fd, &none, iov, 2);
      j = k;
    }
    if (r < 0 && err == 0) err = r;
    from = ends[j - 1];
    i = j;
  }
  return num(env, (double)err);
}

void init_tun(napi_env env, napi_value exports) {
  register_fn(env, exports, "tunOpen", tun_open_js);
  register_fn(env, exports, "tunReadBatch", tun_read_batch_js);
  register_fn(env, exports, "tunReadOffload", tun_read_offload_js);
  register_fn(env, exports, "tunWriteOffload", tun_write_offload_js);
  register_fn(env, exports, "tunWriteJoined", tun_write_joined_js);
  register_int(env, exports, "TUN_MAX_JOIN", MAX_JOIN);
  register_int(env, exports, "TUN_MAX_OFFLOAD_PACKET", MAX_OFFLOAD_PACKET);
  register_int(env, exports, "IFNAMSIZ", IFNAMSIZ);
}
