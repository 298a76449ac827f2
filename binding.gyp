{
  "targets": [
    {
      "target_name": "tsmio",
      "sources": [
        "native/module.c",
        "native/napi_util.c",
        "native/errno.c",
        "native/epoll.c",
        "native/socket.c",
        "native/io.c",
        "native/watch.c",
        "native/tun.c",
        "native/netlink.c",
        "native/netns.c",
        "native/fdpass.c",
        "native/reap.c"
      ],
      "defines": ["_GNU_SOURCE", "NAPI_VERSION=8"],
      "cflags": ["-std=gnu11", "-O2", "-Wall", "-Wextra", "-Wno-unused-parameter"]
    }
  ]
}
