// How fast the I/O thread decodes a dump, without the kernel or the VM's
// scheduling in the figure: dumps this namespace's links once, then decodes
// the same datagrams again and again into a LinkTableBuilder, as
// LinkRequest::OnReply does. Built and run by bench/decode-profile.sh.
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <vector>

#include "js_link.h"

int main(int argc, char** argv) {
  int rounds = argc > 1 ? std::atoi(argv[1]) : 2000;
  int fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
  if (fd < 0) return perror("socket"), 1;
  struct {
    nlmsghdr h;
    ifinfomsg i;
    nlattr a;
    uint32_t mask;
  } req{};
  req.h.nlmsg_len = sizeof req;
  req.h.nlmsg_type = RTM_GETLINK;
  req.h.nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
  req.h.nlmsg_seq = 1;
  req.a.nla_len = sizeof req.a + sizeof req.mask;
  req.a.nla_type = IFLA_EXT_MASK;
  req.mask = RTEXT_FILTER_SKIP_STATS;
  if (send(fd, &req, sizeof req, 0) < 0) return perror("send"), 1;
  std::vector<std::vector<uint8_t>> datagrams;
  size_t links = 0;
  for (bool done = false; !done;) {
    std::vector<uint8_t> b(64 << 10);
    ssize_t n = recv(fd, b.data(), b.size(), 0);
    if (n < 0) return perror("recv"), 1;
    b.resize(static_cast<size_t>(n));
    size_t left = b.size();
    for (auto* h = reinterpret_cast<nlmsghdr*>(b.data()); NLMSG_OK(h, left); h = NLMSG_NEXT(h, left)) {
      if (h->nlmsg_type == NLMSG_DONE) done = true;
      if (h->nlmsg_type == RTM_NEWLINK) links++;
    }
    datagrams.push_back(std::move(b));
  }
  close(fd);
  auto t0 = std::chrono::steady_clock::now();
  size_t decoded = 0;
  for (int r = 0; r < rounds; r++) {
    macvlan::LinkTableBuilder table;
    table.Reserve(links);
    for (const auto& d : datagrams) {
      size_t left = d.size();
      for (auto* h = reinterpret_cast<const nlmsghdr*>(d.data()); NLMSG_OK(h, left);
           h = NLMSG_NEXT(h, left)) {
        table.Add(h);
      }
    }
    decoded += table.size();
  }
  double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  std::printf("%zu links in %zu datagrams: %.3f us a link, %.1f us a dump (%d rounds)\n", links,
              datagrams.size(), s / static_cast<double>(decoded) * 1e6, s / rounds * 1e6, rounds);
  return 0;
}
