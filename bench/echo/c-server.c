/* Reference echo server in C: the same design as tsmio-server.ts (one epoll,
 * edge-triggered, EPOLLIN | EPOLLOUT registered once, the drain shortcut, a
 * pending buffer per connection), with no JavaScript or Node-API in the way.
 * It shows how much of an echo's cost is the kernel's.
 * Built by `node bench/echo/run.mjs --c`; prints `port <n>`; runs until killed. */
#define _GNU_SOURCE /* accept4 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#define BUF_SIZE (64 * 1024)
#define MAX_FD 65536

struct conn {
  char *pending;
  size_t at, end;
};

static struct conn conns[MAX_FD];
static char buf[BUF_SIZE];

/* Writes the pending bytes; 1 once none are left. */
static int flush(int fd, struct conn *c) {
  while (c->at < c->end) {
    ssize_t w = send(fd, c->pending + c->at, c->end - c->at, MSG_NOSIGNAL);
    if (w < 0) return errno == EAGAIN ? 0 : -1;
    c->at += (size_t)w;
  }
  c->at = c->end = 0;
  return 1;
}

/* Echoes what is readable now; -1 when the connection is finished. */
static int pump(int fd, struct conn *c) {
  if (c->end != 0) {
    int f = flush(fd, c);
    if (f <= 0) return f;
  }
  for (;;) {
    ssize_t n = read(fd, buf, BUF_SIZE);
    if (n < 0) return errno == EAGAIN ? 0 : -1;
    if (n == 0) return -1;
    ssize_t at = 0;
    while (at < n) {
      ssize_t w = send(fd, buf + at, (size_t)(n - at), MSG_NOSIGNAL);
      if (w < 0) {
        if (errno != EAGAIN) return -1;
        break;
      }
      at += w;
    }
    if (at < n) {
      if (c->pending == NULL && (c->pending = malloc(BUF_SIZE)) == NULL) return -1;
      memcpy(c->pending, buf + at, (size_t)(n - at));
      c->at = 0;
      c->end = (size_t)(n - at);
      return 0;
    }
    if (n < BUF_SIZE) return 0;
  }
}

int main(void) {
  int l = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  int one = 1;
  setsockopt(l, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = 0, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
  socklen_t al = sizeof a;
  if (bind(l, (struct sockaddr *)&a, sizeof a) < 0 || listen(l, 1024) < 0 ||
      getsockname(l, (struct sockaddr *)&a, &al) < 0) {
    perror("listen");
    return 1;
  }
  int ep = epoll_create1(EPOLL_CLOEXEC);
  struct epoll_event ev = {.events = EPOLLIN | EPOLLET, .data.fd = l};
  epoll_ctl(ep, EPOLL_CTL_ADD, l, &ev);
  printf("port %d\n", ntohs(a.sin_port));
  fflush(stdout);
  struct epoll_event evs[1024];
  for (;;) {
    int n = epoll_wait(ep, evs, 1024, -1);
    if (n < 0 && errno != EINTR) return 1;
    for (int i = 0; i < n; i++) {
      int fd = evs[i].data.fd;
      if (fd == l) {
        int s;
        while ((s = accept4(l, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC)) >= 0) {
          if (s >= MAX_FD) {
            close(s);
            continue;
          }
          setsockopt(s, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
          struct epoll_event e = {.events = EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET, .data.fd = s};
          epoll_ctl(ep, EPOLL_CTL_ADD, s, &e);
        }
        continue;
      }
      if (pump(fd, &conns[fd]) < 0) {
        free(conns[fd].pending);
        conns[fd] = (struct conn){0};
        close(fd);
      }
    }
  }
}
