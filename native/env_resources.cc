#include "env_resources.h"

#include <unistd.h>

#include <cstdlib>
#include <map>
#include <mutex>
#include <set>
#include <utility>

#include "tap_device.h"

namespace macvlan {
namespace {

struct EnvResources {
  napi_env env;
  std::map<std::string, std::pair<uint32_t, uint32_t>> nodes;
  std::set<int> fds;
};

// Every environment's resources, by env; workers run on threads of their
// own. Never destroyed: exit() may run the atexit handler after other
// static objects are gone.
struct Registry {
  std::mutex mu;
  std::map<napi_env, EnvResources*> envs;
};

Registry& Reg() {
  static auto* registry = new Registry;
  return *registry;
}

void RemoveNodes(const EnvResources& res) {
  for (const auto& [path, dev] : res.nodes) CloseTap(-1, path, dev.first, dev.second);
}

void Cleanup(void* data) {
  auto* res = static_cast<EnvResources*>(data);
  std::lock_guard<std::mutex> lock(Reg().mu);
  RemoveNodes(*res);
  for (int fd : res->fds) close(fd);
  Reg().envs.erase(res->env);
  delete res;
}

void RemoveAllNodesAtExit() {
  std::lock_guard<std::mutex> lock(Reg().mu);
  for (const auto& [env, res] : Reg().envs) RemoveNodes(*res);
}

// The caller holds Reg().mu.
EnvResources& Of(napi_env env) {
  auto it = Reg().envs.find(env);
  if (it != Reg().envs.end()) return *it->second;
  static std::once_flag at_exit;
  std::call_once(at_exit, [] { std::atexit(RemoveAllNodesAtExit); });
  auto* res = new EnvResources{env, {}, {}};
  Reg().envs[env] = res;
  napi_add_env_cleanup_hook(env, Cleanup, res);
  return *res;
}

}  // namespace

void TrackNode(napi_env env, const std::string& path, uint32_t major, uint32_t minor) {
  std::lock_guard<std::mutex> lock(Reg().mu);
  Of(env).nodes[path] = {major, minor};
}

void UntrackNode(napi_env env, const std::string& path) {
  std::lock_guard<std::mutex> lock(Reg().mu);
  Of(env).nodes.erase(path);
}

void FdsInTransit(napi_env env, const std::vector<int>& fds) {
  std::lock_guard<std::mutex> lock(Reg().mu);
  Of(env).fds.insert(fds.begin(), fds.end());
}

void FdAdopted(napi_env env, int fd) {
  std::lock_guard<std::mutex> lock(Reg().mu);
  Of(env).fds.erase(fd);
}

}  // namespace macvlan
