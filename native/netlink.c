/* Interface configuration over rtnetlink (a NETLINK_ROUTE socket), the way
 * `ip link`, `ip addr` and `ip route` do it, without running them. Each call
 * opens a socket in the calling thread's network namespace, sends one request
 * and waits for the kernel's acknowledgement: 0, or the -errno it reports. */
#include "napi_util.h"
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <net/if.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#define REQ_SPACE 512

struct request {
  struct nlmsghdr nh;
  char body[REQ_SPACE];
};

/* Starts a request of `type` whose fixed header (ifinfomsg, ifaddrmsg,
 * rtmsg) has `hdr_len` bytes; returns a pointer to that zeroed header. */
static void *req_init(struct request *req, uint16_t type, uint16_t flags, size_t hdr_len) {
  memset(req, 0, sizeof *req);
  req->nh.nlmsg_len = NLMSG_LENGTH(hdr_len);
  req->nh.nlmsg_type = type;
  req->nh.nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK | flags;
  return NLMSG_DATA(&req->nh);
}

/* Appends one attribute; the buffer is sized for every request built here. */
static void req_attr(struct request *req, uint16_t type, const void *data, size_t len) {
  struct rtattr *rta = (struct rtattr *)((char *)req + NLMSG_ALIGN(req->nh.nlmsg_len));
  rta->rta_type = type;
  rta->rta_len = (unsigned short)RTA_LENGTH(len);
  if (len > 0) memcpy(RTA_DATA(rta), data, len);
  req->nh.nlmsg_len = NLMSG_ALIGN(req->nh.nlmsg_len) + RTA_ALIGN(rta->rta_len);
}

/* Sends the request and waits for its acknowledgement: 0 or -errno. When
 * `route_type` is given, the rtm_type of a route in the reply is stored there
 * (for RTM_GETROUTE). */
static int talk(struct request *req, int *route_type) {
  int fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
  if (fd < 0) return -errno;
  struct timeval tv = {.tv_sec = 5};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  struct sockaddr_nl kernel = {.nl_family = AF_NETLINK};
  static __thread uint32_t seq;
  req->nh.nlmsg_seq = ++seq;
  int rc = 1;
  if (sendto(fd, req, req->nh.nlmsg_len, 0, (struct sockaddr *)&kernel, sizeof kernel) < 0) rc = -errno;
  char reply[8192] __attribute__((aligned(NLMSG_ALIGNTO)));
  while (rc == 1) {
    ssize_t n = recv(fd, reply, sizeof reply, 0);
    if (n < 0) {
      if (errno == EINTR) continue;
      rc = errno == EAGAIN ? -ETIMEDOUT : -errno;
      break;
    }
    for (struct nlmsghdr *h = (struct nlmsghdr *)reply; NLMSG_OK(h, n); h = NLMSG_NEXT(h, n)) {
      if (h->nlmsg_seq != req->nh.nlmsg_seq) continue;
      if (h->nlmsg_type == RTM_NEWROUTE && route_type != NULL &&
          h->nlmsg_len >= NLMSG_LENGTH(sizeof(struct rtmsg)))
        *route_type = ((struct rtmsg *)NLMSG_DATA(h))->rtm_type;
      if (h->nlmsg_type != NLMSG_ERROR) continue;
      if (h->nlmsg_len < NLMSG_LENGTH(sizeof(struct nlmsgerr))) {
        rc = -EPROTO;
        break;
      }
      rc = ((struct nlmsgerr *)NLMSG_DATA(h))->error; /* 0 = ACK, else -errno */
      break;
    }
  }
  close(fd);
  return rc;
}

/* The index of interface `name` in the calling thread's namespace, or -errno. */
static int index_of(const char *name) {
  errno = 0;
  unsigned idx = if_nametoindex(name);
  return idx == 0 ? -(errno ? errno : ENODEV) : (int)idx;
}

/* Reads an address argument: a Uint8Array of 4 (IPv4) or 16 (IPv6) bytes. */
static int arg_ip(napi_env env, napi_value v, uint8_t **ip, size_t *len) {
  if (!arg_bytes(env, v, ip, len)) return 0;
  if (*len != 4 && *len != 16) {
    napi_throw_range_error(env, "ERR_OUT_OF_RANGE", "an address has 4 or 16 bytes");
    return 0;
  }
  return 1;
}

/* nlLinkSet(name, up, mtu) -> 0 | -errno. up: 1 up, 0 down, -1 unchanged;
 * mtu: -1 unchanged. */
static napi_value link_set_js(napi_env env, napi_callback_info info) {
  GET_ARGS(3);
  char name[IFNAMSIZ];
  int32_t up, mtu;
  if (!arg_string(env, argv[0], name, sizeof name) || !arg_int32(env, argv[1], &up) ||
      !arg_int32(env, argv[2], &mtu))
    return NULL;
  int idx = index_of(name);
  if (idx < 0) return num(env, idx);
  struct request req;
  struct ifinfomsg *ifi = req_init(&req, RTM_NEWLINK, 0, sizeof *ifi);
  ifi->ifi_family = AF_UNSPEC;
  ifi->ifi_index = idx;
  if (up >= 0) {
    ifi->ifi_change = IFF_UP;
    ifi->ifi_flags = up ? IFF_UP : 0;
  }
  if (mtu >= 0) {
    uint32_t m = (uint32_t)mtu;
    req_attr(&req, IFLA_MTU, &m, sizeof m);
  }
  return num(env, talk(&req, NULL));
}

/* nlAddrAdd(name, ip, prefix, flags) -> 0 | -errno: adds ip/prefix to the
 * interface. flags: IFA_F_* (IFA_F_NODAD skips IPv6 duplicate address
 * detection, so the address is usable at once). */
static napi_value addr_add_js(napi_env env, napi_callback_info info) {
  GET_ARGS(4);
  char name[IFNAMSIZ];
  uint8_t *ip;
  size_t ip_len;
  int32_t prefix, flags;
  if (!arg_string(env, argv[0], name, sizeof name) || !arg_ip(env, argv[1], &ip, &ip_len) ||
      !arg_int32(env, argv[2], &prefix) || !arg_int32(env, argv[3], &flags))
    return NULL;
  if (prefix < 0 || (size_t)prefix > ip_len * 8) return num(env, -EINVAL);
  int idx = index_of(name);
  if (idx < 0) return num(env, idx);
  struct request req;
  struct ifaddrmsg *ifa = req_init(&req, RTM_NEWADDR, NLM_F_CREATE | NLM_F_EXCL, sizeof *ifa);
  ifa->ifa_family = ip_len == 4 ? AF_INET : AF_INET6;
  ifa->ifa_prefixlen = (unsigned char)prefix;
  ifa->ifa_flags = (unsigned char)(flags & 0xff);
  ifa->ifa_scope = RT_SCOPE_UNIVERSE;
  ifa->ifa_index = (unsigned)idx;
  req_attr(&req, IFA_LOCAL, ip, ip_len);
  req_attr(&req, IFA_ADDRESS, ip, ip_len);
  uint32_t f = (uint32_t)flags;
  req_attr(&req, IFA_FLAGS, &f, sizeof f);
  return num(env, talk(&req, NULL));
}

/* nlRouteAdd(dest, prefix, gateway, name) -> 0 | -errno: a unicast route in
 * the main table. gateway: an empty Uint8Array for none (a directly
 * connected route); name: "" for no output device (the gateway decides). */
static napi_value route_add_js(napi_env env, napi_callback_info info) {
  GET_ARGS(4);
  char name[IFNAMSIZ];
  uint8_t *dst, *gw;
  size_t dst_len, gw_len;
  int32_t prefix;
  if (!arg_ip(env, argv[0], &dst, &dst_len) || !arg_int32(env, argv[1], &prefix) ||
      !arg_bytes(env, argv[2], &gw, &gw_len) || !arg_string(env, argv[3], name, sizeof name))
    return NULL;
  if (prefix < 0 || (size_t)prefix > dst_len * 8 || (gw_len != 0 && gw_len != dst_len)) return num(env, -EINVAL);
  struct request req;
  struct rtmsg *rt = req_init(&req, RTM_NEWROUTE, NLM_F_CREATE | NLM_F_EXCL, sizeof *rt);
  rt->rtm_family = dst_len == 4 ? AF_INET : AF_INET6;
  rt->rtm_dst_len = (unsigned char)prefix;
  rt->rtm_table = RT_TABLE_MAIN;
  rt->rtm_protocol = RTPROT_STATIC;
  rt->rtm_scope = gw_len == 0 ? RT_SCOPE_LINK : RT_SCOPE_UNIVERSE;
  rt->rtm_type = RTN_UNICAST;
  if (prefix > 0) req_attr(&req, RTA_DST, dst, dst_len);
  if (gw_len != 0) req_attr(&req, RTA_GATEWAY, gw, gw_len);
  if (name[0] != '\0') {
    int idx = index_of(name);
    if (idx < 0) return num(env, idx);
    uint32_t oif = (uint32_t)idx;
    req_attr(&req, RTA_OIF, &oif, sizeof oif);
  }
  return num(env, talk(&req, NULL));
}

/* nlRouteType(ip) -> the type of the route the kernel would use for ip
 * (RTN_LOCAL: the address is this host's and usable; RTN_UNICAST, ...) |
 * -errno (ENETUNREACH: no route). Like `ip route get`. */
static napi_value route_type_js(napi_env env, napi_callback_info info) {
  GET_ARGS(1);
  uint8_t *ip;
  size_t ip_len;
  if (!arg_ip(env, argv[0], &ip, &ip_len)) return NULL;
  struct request req;
  struct rtmsg *rt = req_init(&req, RTM_GETROUTE, 0, sizeof *rt);
  rt->rtm_family = ip_len == 4 ? AF_INET : AF_INET6;
  rt->rtm_dst_len = (unsigned char)(ip_len * 8);
  req_attr(&req, RTA_DST, ip, ip_len);
  int type = -1;
  int rc = talk(&req, &type);
  if (rc == 0 && type < 0) rc = -EPROTO;
  return num(env, rc < 0 ? rc : type);
}

void init_netlink(napi_env env, napi_value exports) {
  register_fn(env, exports, "nlLinkSet", link_set_js);
  register_fn(env, exports, "nlAddrAdd", addr_add_js);
  register_fn(env, exports, "nlRouteAdd", route_add_js);
  register_fn(env, exports, "nlRouteType", route_type_js);
  register_int(env, exports, "IFA_F_NODAD", IFA_F_NODAD);
  register_int(env, exports, "RTN_LOCAL", RTN_LOCAL);
}
