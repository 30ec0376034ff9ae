// What an environment (the main thread, a worker) holds that must not
// outlive it: the device nodes its Taps made, and the fds on their way from
// the I/O thread to the JS object that will own them.
#pragma once

#include <node_api.h>

#include <cstdint>
#include <string>
#include <vector>

namespace macvlan {

// A node a Tap made: removed when the environment goes (a worker
// terminated) or the process exits (process.exit() and an uncaught
// exception run no environment cleanup), unless UntrackNode came first.
void TrackNode(napi_env env, const std::string& path, uint32_t major, uint32_t minor);
void UntrackNode(napi_env env, const std::string& path);

// fds in a result handed to JS, closed when the environment goes before an
// object adopted them (a worker terminated between the two).
void FdsInTransit(napi_env env, const std::vector<int>& fds);
void FdAdopted(napi_env env, int fd);

}  // namespace macvlan
