{
  "targets": [
    {
      "target_name": "macvlan",
      "sources": [
        "native/addon.cc",
        "native/nlmsg.cc",
        "native/rtnl_link.cc",
        "native/rtnl_addr_route.cc",
        "native/js_addr_route.cc",
        "native/netlink_socket.cc",
        "native/netns.cc",
        "native/tap_device.cc",
        "native/sysfs_probe.cc",
        "native/tap_uevents.cc",
        "native/tap_queue.cc",
        "native/env_resources.cc",
        "native/event_socket.cc",
        "native/handle.cc",
        "native/js_link.cc"
      ],
      "include_dirs": ["<!(node -p \"require('node-addon-api').include_dir\")"],
      "dependencies": ["<!(node -p \"require('node-addon-api').targets\"):node_addon_api_except"],
      "defines": [
        "NAPI_VERSION=8",
        "NODE_ADDON_API_DISABLE_DEPRECATED",
        "NODE_API_SWALLOW_UNTHROWABLE_EXCEPTIONS"
      ],
      "cflags!": ["-fno-exceptions"],
      "cflags_cc!": ["-fno-exceptions", "-std=gnu++17"],
      "cflags_cc": ["-std=c++20", "-Wall", "-Wextra", "-fvisibility=hidden"]
    }
  ]
}
