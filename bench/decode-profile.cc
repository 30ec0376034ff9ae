// How fast the I/O thread decodes a dump, without the kernel or the VM's
// scheduling in the figure: dumps this namespace's links once, then decodes
// the same datagrams again and again into a LinkTableBuilder, as
// LinkRequest::OnReply does. Then as a listLinks() does them one after
// another: into one builder whose numbers a thread on the other CPU reads
// between two decodes, as the JS thread reads a table before its buffer is
// used again (each decode timed alone). Built and run by
// bench/decode-profile.sh.
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <sys/socket.h>
#include <unistd.h>

#include <pthread.h>
#include <sched.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <thread>
#include <vector>

#include "js_link.h"

namespace {

void PinTo(int cpu) {
  cpu_set_t set;
  CPU_ZERO(&set);
  CPU_SET(cpu, &set);
  pthread_setaffinity_np(pthread_self(), sizeof set, &set);
}

// This thread on CPU 0 decodes `rounds` times into one builder; between two
// decodes a thread on CPU 1 reads every cache line of its numbers. The
// median ns a link of the decodes alone; 0 on a machine of one CPU.
template <typename Decode>
double DecodeAfterOtherCoreRead(Decode& decode_into, size_t links, int rounds) {
  if (std::thread::hardware_concurrency() < 2) return 0;
  macvlan::LinkTableBuilder table;
  std::atomic<int> turn{0};  // 1: the reader's, 0: the decoder's, -1: stop
  double sink = 0;
  std::thread reader([&] {
    PinTo(1);
    for (;;) {
      turn.wait(0);
      if (turn.load() < 0) return;
      for (size_t i = 0; i < table.numbers().size(); i += 8) sink += table.numbers()[i];
      turn.store(0);
      turn.notify_one();
    }
  });
  PinTo(0);
  std::vector<double> ns;
  for (int r = 0; r < rounds; r++) {
    turn.store(1);
    turn.notify_one();
    turn.wait(1);
    table.Clear();
    auto t0 = std::chrono::steady_clock::now();
    decode_into(table);
    ns.push_back(std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count() * 1e9 / links);
  }
  turn.store(-1);
  turn.notify_one();
  reader.join();
  std::sort(ns.begin(), ns.end());
  return sink == -1 ? 0 : ns[ns.size() / 2];
}

}  // namespace

int main(int argc, char** argv) {
  int rounds = argc > 1 ? std::atoi(argv[1]) : 100;
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
  // The floor: C's walk of the same messages (bench/ref.c's parse), every
  // attribute visited, names counted.
  auto walk = [&]() {
    size_t named = 0;
    for (const auto& d : datagrams) {
      size_t left = d.size();
      for (auto* h = reinterpret_cast<const nlmsghdr*>(d.data()); NLMSG_OK(h, left);
           h = NLMSG_NEXT(h, left)) {
        if (h->nlmsg_type != RTM_NEWLINK) continue;
        const auto* ifi = static_cast<const ifinfomsg*>(NLMSG_DATA(h));
        int len = static_cast<int>(h->nlmsg_len - NLMSG_LENGTH(sizeof *ifi));
        for (const rtattr* a = IFLA_RTA(ifi); RTA_OK(a, len); a = RTA_NEXT(a, len)) {
          if (a->rta_type == IFLA_IFNAME) named++;
        }
      }
    }
    return named;
  };
  auto decode_into = [&](macvlan::LinkTableBuilder& table) {
    table.Reserve(links);
    for (const auto& d : datagrams) {
      size_t left = d.size();
      for (auto* h = reinterpret_cast<const nlmsghdr*>(d.data()); NLMSG_OK(h, left);
           h = NLMSG_NEXT(h, left)) {
        table.Add(h);
      }
    }
    return table.size();
  };
  auto decode = [&]() {
    macvlan::LinkTableBuilder table;
    return decode_into(table);
  };
  // The fastest of 30 blocks: this VM's speed changes by 1.5x from one
  // second to the next, and the fastest block is the code's own speed.
  auto ns_a_link = [&](auto&& fn) {
    double best = 1e300;
    size_t sink = 0;
    for (int block = 0; block < 30; block++) {
      auto t0 = std::chrono::steady_clock::now();
      for (int r = 0; r < rounds; r++) sink += fn();
      double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
      best = std::min(best, s / rounds / static_cast<double>(links) * 1e9);
    }
    if (sink != static_cast<size_t>(rounds) * 30 * links) std::printf("(some links not decoded)\n");
    return best;
  };
  double decoded = ns_a_link(decode);
  double walked = ns_a_link(walk);
  std::printf(
      "%zu links in %zu datagrams, fastest of 30 blocks of %d dumps: decode %.1f ns a link, C's walk %.1f ns "
      "a link\n",
      links, datagrams.size(), rounds, decoded, walked);
  double after_read = DecodeAfterOtherCoreRead(decode_into, links, rounds * 10);
  if (after_read > 0) {
    std::printf("decode into a table the other CPU read last: %.1f ns a link (median of %d)\n", after_read,
                rounds * 10);
  }
  return 0;
}
