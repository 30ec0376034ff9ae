// The C reference for bench/run.mjs: the same rtnetlink and /dev/tapN work
// as the library, done the plainest fast way, timed inside the process.
// Run inside the bench namespace (`ip netns exec NS bench/out/ref CMD ...`);
// every command prints one JSON object on stdout, errors go to stderr.
//
//   create-seq   LOWER PREFIX START N [TAP]  one RTM_NEWLINK at a time, waiting for each ACK
//   create-batch LOWER PREFIX START N [TAP]  the same requests, many per sendmsg()
//                (TAP 1 or 2 also reports tapSeconds: getting every new tap's device number
//                afterwards, 1 from sysfs, 2 from the uevents of a listener opened before the creates)
//   delete-seq   PREFIX START N         one RTM_DELLINK (by name) at a time
//   delete-seq-io PREFIX START N SPIN_US delete-seq, each request handed to an I/O thread
//   delete-group PREFIX START N GROUP   IFLA_GROUP on each (batched), then one RTM_DELLINK by group
//   dump         RUNS                   RTM_GETLINK NLM_F_DUMP, RTEXT_FILTER_SKIP_STATS, parsed to count
//   get-seq      NAME N                 one RTM_GETLINK (by name, SKIP_STATS, ACK) at a time
//   create-seq-io LOWER PREFIX START N SPIN_US TAP   create-seq, each request handed to an I/O thread;
//                then the I/O thread gets the macvtap's device number: TAP 1 from sysfs, 2 from the
//                uevent (as the library)
//   get-seq-io   NAME N SPIN_US         get-seq, each request handed to an I/O thread
//   dump-io      N SPIN_US              N dumps, each handed to an I/O thread
//   pingpong     N SPIN_US WORK_US      empty requests through the I/O thread, which is busy WORK_US in each
//   tap          NAME ITERATIONS NODEDIR open+close of the link's /dev/tapN
//   tap-io       NAME ITERATIONS NODEDIR SPIN_US   what openTap does (find the link and its node, open,
//                TUNGETIFF, TUNSETIFF, TUNGETFEATURES, SIOCGIFHWADDR) then close, each handed to
//                an I/O thread (SPIN_US -1: on this thread); the mean of an open+close
//   frames       NAMEA NAMEB SIZE COUNT INFLIGHT NODEDIR   A writes, B reads, INFLIGHT frames ahead
//   pagefault    PAGES                  the first write to each page of a fresh anonymous mapping:
//                what a minor page fault costs on this machine (V8 meets it on young-generation
//                pages it gave back; listLinks' Links land there)
//
// Requests are byte for byte what the library sends (see native/rtnl_link.cc):
// a create is NLM_F_REQUEST|ACK|CREATE|EXCL|ECHO with IFLA_LINK, IFLA_IFNAME,
// IFLA_LINKINFO { IFLA_INFO_KIND "macvtap", IFLA_INFO_DATA { MODE bridge } }.
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <time.h>
#include <unistd.h>

#include <linux/if_link.h>
#include <linux/if_tun.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>

// The points of native/trace_points.h (the same numbers), marked in the Node
// floor's calls when bench/handoff-profile.sh builds it with
// -DMACVLAN_TRACE_POINTS, written at exit to $MACVLAN_TRACE_FLOOR_FILE.
enum { TRACE_FLUSHED = 1, TRACE_TAKEN, TRACE_SENDING, TRACE_SENT, TRACE_POSTED, TRACE_WOKEN, TRACE_SETTLING };
#ifdef MACVLAN_TRACE_POINTS
#define TRACE_MAX_MARKS (1L << 20)
static struct {
  int point;
  long long ns;
} trace_marks[TRACE_MAX_MARKS];
static atomic_long trace_marked;
static void trace_at(int point) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  long i = atomic_fetch_add_explicit(&trace_marked, 1, memory_order_relaxed);
  if (i < TRACE_MAX_MARKS) {
    trace_marks[i].point = point;
    trace_marks[i].ns = ts.tv_sec * 1000000000LL + ts.tv_nsec;
  }
}
__attribute__((destructor)) static void trace_write(void) {
  const char *path = getenv("MACVLAN_TRACE_FLOOR_FILE");
  FILE *f = path ? fopen(path, "w") : NULL;
  if (!f) return;
  long n = atomic_load(&trace_marked);
  for (long i = 0; i < n && i < TRACE_MAX_MARKS; i++) fprintf(f, "%d %lld\n", trace_marks[i].point, trace_marks[i].ns);
  fclose(f);
}
#define TRACE(point) trace_at(point)
#else
#define TRACE(point) ((void)0)
#endif

static int read_file(const char *path, char *out, size_t cap);
static dev_t tap_devt(const char *name, int ifindex);
static void uevent_open(void);
static dev_t uevent_tap_devt(int ifindex);

#ifndef NETLINK_EXT_ACK
#define NETLINK_EXT_ACK 11
#endif
#ifndef NETLINK_GET_STRICT_CHK
#define NETLINK_GET_STRICT_CHK 12
#endif

// Same bounds as the library: a request may leave an echo and an ACK queued.
#define QUEUED_BYTES_PER_REQUEST (8 << 10)
#define RECV_CHUNK (64 << 10)

static int nl;
static uint32_t portid;
static uint32_t seq_next = 1;
static size_t max_batch = 1;
static char rbuf[RECV_CHUNK];

static double now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void die(const char *what) {
  fprintf(stderr, "ref: %s: %s\n", what, strerror(errno));
  exit(1);
}

static void nl_open(void) {
  if (nl > 0) close(nl);  // run again inside one process (bench/inproc.c)
  nl = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
  if (nl < 0) die("socket");
  int one = 1;
  setsockopt(nl, SOL_NETLINK, NETLINK_EXT_ACK, &one, sizeof one);
  setsockopt(nl, SOL_NETLINK, NETLINK_CAP_ACK, &one, sizeof one);
  setsockopt(nl, SOL_NETLINK, NETLINK_GET_STRICT_CHK, &one, sizeof one);
  int rcv = 4 << 20, snd = 1 << 20;
  if (setsockopt(nl, SOL_SOCKET, SO_RCVBUFFORCE, &rcv, sizeof rcv) != 0) die("SO_RCVBUFFORCE");
  if (setsockopt(nl, SOL_SOCKET, SO_SNDBUFFORCE, &snd, sizeof snd) != 0) die("SO_SNDBUFFORCE");
  struct sockaddr_nl a = {.nl_family = AF_NETLINK};
  if (bind(nl, (struct sockaddr *)&a, sizeof a) != 0) die("bind");
  socklen_t len = sizeof a;
  if (getsockname(nl, (struct sockaddr *)&a, &len) != 0) die("getsockname");
  portid = a.nl_pid;
  int got = 0;
  len = sizeof got;
  getsockopt(nl, SOL_SOCKET, SO_RCVBUF, &got, &len);
  max_batch = (size_t)got / QUEUED_BYTES_PER_REQUEST;
  if (max_batch < 1) max_batch = 1;
  seq_next = (uint32_t)getpid() << 12;
}

// A growable buffer of netlink messages.
struct buf {
  char *p;
  size_t len, cap;
};

static void *buf_put(struct buf *b, size_t n) {
  size_t need = b->len + NLMSG_ALIGN(n);
  if (need > b->cap) {
    b->cap = need * 2;
    b->p = realloc(b->p, b->cap);
    if (!b->p) die("realloc");
  }
  void *at = b->p + b->len;
  memset(at, 0, NLMSG_ALIGN(n));
  b->len = need;
  return at;
}

static size_t msg_begin(struct buf *b, uint16_t type, uint16_t flags, int index) {
  size_t off = b->len;
  struct nlmsghdr *h = buf_put(b, NLMSG_HDRLEN);
  h->nlmsg_type = type;
  h->nlmsg_flags = flags;
  h->nlmsg_seq = seq_next++;
  struct ifinfomsg *ifi = buf_put(b, sizeof *ifi);
  ifi->ifi_family = AF_UNSPEC;
  ifi->ifi_index = index;
  return off;
}

static void msg_end(struct buf *b, size_t off) {
  ((struct nlmsghdr *)(b->p + off))->nlmsg_len = (uint32_t)(b->len - off);
}

static void attr(struct buf *b, uint16_t type, const void *data, size_t n) {
  struct rtattr *a = buf_put(b, RTA_LENGTH(n));
  a->rta_type = type;
  a->rta_len = (unsigned short)RTA_LENGTH(n);
  memcpy(RTA_DATA(a), data, n);
}

static void attr_u32(struct buf *b, uint16_t type, uint32_t v) { attr(b, type, &v, 4); }

static size_t nest_begin(struct buf *b, uint16_t type) {
  size_t off = b->len;
  struct rtattr *a = buf_put(b, RTA_LENGTH(0));
  a->rta_type = type;
  return off;
}

static void nest_end(struct buf *b, size_t off) {
  ((struct rtattr *)(b->p + off))->rta_len = (unsigned short)(b->len - off);
}

static void add_create(struct buf *b, int lower, const char *name) {
  size_t m = msg_begin(b, RTM_NEWLINK, NLM_F_REQUEST | NLM_F_ACK | NLM_F_CREATE | NLM_F_EXCL | NLM_F_ECHO, 0);
  attr_u32(b, IFLA_LINK, (uint32_t)lower);
  attr(b, IFLA_IFNAME, name, strlen(name) + 1);
  size_t info = nest_begin(b, IFLA_LINKINFO);
  attr(b, IFLA_INFO_KIND, "macvtap", 7);  // without its NUL, as ip sends it
  size_t data = nest_begin(b, IFLA_INFO_DATA);
  attr_u32(b, IFLA_MACVLAN_MODE, MACVLAN_MODE_BRIDGE);
  nest_end(b, data);
  nest_end(b, info);
  msg_end(b, m);
}

static void nl_send(struct buf *b) {
  struct sockaddr_nl k = {.nl_family = AF_NETLINK};
  ssize_t n;
  do n = sendto(nl, b->p, b->len, 0, (struct sockaddr *)&k, sizeof k);
  while (n < 0 && errno == EINTR);
  if (n < 0) die("sendmsg");
}

// Waits for the ACKs of `count` requests numbered from `first`; with `ifindex`,
// records the echoed RTM_NEWLINK's index per request.
static void wait_acks(uint32_t first, size_t count, int *ifindex) {
  size_t acked = 0;
  while (acked < count) {
    ssize_t n = recv(nl, rbuf, sizeof rbuf, 0);
    if (n < 0) {
      if (errno == EINTR) continue;
      die("recv");
    }
    for (struct nlmsghdr *h = (struct nlmsghdr *)rbuf; NLMSG_OK(h, (size_t)n); h = NLMSG_NEXT(h, n)) {
      uint32_t i = h->nlmsg_seq - first;
      if (h->nlmsg_pid != portid || i >= count) continue;
      if (h->nlmsg_type == NLMSG_ERROR) {
        struct nlmsgerr *e = NLMSG_DATA(h);
        if (e->error) {
          errno = -e->error;
          die("request refused by the kernel");
        }
        acked++;
      } else if (h->nlmsg_type == RTM_NEWLINK && ifindex) {
        ifindex[i] = ((struct ifinfomsg *)NLMSG_DATA(h))->ifi_index;
      }
    }
  }
}

static void link_name(char *out, const char *prefix, long i) { snprintf(out, IFNAMSIZ, "%s%ld", prefix, i); }

static void cmd_create(int batched, int lower, const char *prefix, long start, long n, int tap) {
  struct buf b = {0};
  if (tap == 2) uevent_open();
  char name[IFNAMSIZ];
  int *idx = calloc((size_t)n, sizeof *idx);
  size_t per = batched ? max_batch : 1;
  size_t sends = 0;
  double t0 = now();
  for (long i = 0; i < n;) {
    b.len = 0;
    uint32_t first = seq_next;
    size_t k = 0;
    for (; k < per && i < n; k++, i++) {
      link_name(name, prefix, start + i);
      add_create(&b, lower, name);
    }
    nl_send(&b);
    sends++;
    wait_acks(first, k, idx + (i - (long)k));
  }
  double t = now() - t0;
  for (long i = 0; i < n; i++) {
    if (idx[i] <= 0) {
      fprintf(stderr, "ref: no echo for link %ld\n", i);
      exit(1);
    }
  }
  // Timed apart: the device numbers createMacvtap also returns, one a link.
  double t1 = now();
  for (long i = 0; tap && i < n; i++) {
    link_name(name, prefix, start + i);
    if (tap == 1) tap_devt(name, idx[i]);
    else uevent_tap_devt(idx[i]);
  }
  double tap_seconds = now() - t1;
  printf("{\"op\":\"%s\",\"n\":%ld,\"seconds\":%.9f,\"tapSeconds\":%.9f,\"sendmsgs\":%zu,\"maxBatch\":%zu}\n",
         batched ? "create-batch" : "create-seq", n, t, tap_seconds, sends, per);
}

static void cmd_delete_group(const char *prefix, long start, long n, uint32_t group) {
  struct buf b = {0};
  char name[IFNAMSIZ];
  int *idx = calloc((size_t)n, sizeof *idx);
  for (long i = 0; i < n; i++) {  // not timed: the caller knows its ifindexes
    link_name(name, prefix, start + i);
    idx[i] = (int)if_nametoindex(name);
    if (!idx[i]) die(name);
  }
  double t0 = now();
  for (long i = 0; i < n;) {
    b.len = 0;
    uint32_t first = seq_next;
    size_t k = 0;
    for (; k < max_batch && i < n; k++, i++) {
      size_t m = msg_begin(&b, RTM_NEWLINK, NLM_F_REQUEST | NLM_F_ACK, idx[i]);
      attr_u32(&b, IFLA_GROUP, group);
      msg_end(&b, m);
    }
    nl_send(&b);
    wait_acks(first, k, NULL);
  }
  double tagged = now();
  b.len = 0;
  uint32_t first = seq_next;
  size_t m = msg_begin(&b, RTM_DELLINK, NLM_F_REQUEST | NLM_F_ACK, 0);
  attr_u32(&b, IFLA_GROUP, group);
  msg_end(&b, m);
  nl_send(&b);
  wait_acks(first, 1, NULL);
  double t1 = now();
  printf("{\"op\":\"delete-group\",\"n\":%ld,\"seconds\":%.9f,\"tagSeconds\":%.9f,\"deleteSeconds\":%.9f}\n", n,
         t1 - t0, tagged - t0, t1 - tagged);
}

// One dump, parsed to a count of links (every attribute walked, names found).
static long dump_once(void) {
  for (;;) {
    struct buf b = {0};
    uint32_t s = seq_next;
    size_t m = msg_begin(&b, RTM_GETLINK, NLM_F_REQUEST | NLM_F_DUMP, 0);
    attr_u32(&b, IFLA_EXT_MASK, RTEXT_FILTER_SKIP_STATS);
    msg_end(&b, m);
    nl_send(&b);
    free(b.p);
    long count = 0, named = 0;
    int intr = 0, done = 0;
    while (!done) {
      ssize_t n = recv(nl, rbuf, sizeof rbuf, 0);
      if (n < 0) {
        if (errno == EINTR) continue;
        die("recv");
      }
      for (struct nlmsghdr *h = (struct nlmsghdr *)rbuf; NLMSG_OK(h, (size_t)n); h = NLMSG_NEXT(h, n)) {
        if (h->nlmsg_pid != portid || h->nlmsg_seq != s) continue;
        if (h->nlmsg_flags & NLM_F_DUMP_INTR) intr = 1;
        if (h->nlmsg_type == NLMSG_DONE) {
          done = 1;
          break;
        }
        if (h->nlmsg_type == NLMSG_ERROR) {
          struct nlmsgerr *e = NLMSG_DATA(h);
          errno = -e->error;
          die("dump refused");
        }
        if (h->nlmsg_type != RTM_NEWLINK) continue;
        struct ifinfomsg *ifi = NLMSG_DATA(h);
        int len = (int)h->nlmsg_len - NLMSG_LENGTH(sizeof *ifi);
        for (struct rtattr *a = IFLA_RTA(ifi); RTA_OK(a, len); a = RTA_NEXT(a, len)) {
          if (a->rta_type == IFLA_IFNAME) named++;
        }
        count++;
      }
    }
    if (!intr) return count == named ? count : -1;
  }
}

static void cmd_dump(long runs) {
  printf("{\"op\":\"dump\",\"seconds\":[");
  long count = 0;
  for (long r = 0; r < runs; r++) {
    double t0 = now();
    count = dump_once();
    printf("%s%.9f", r ? "," : "", now() - t0);
  }
  printf("],\"links\":%ld}\n", count);
}

static void cmd_pagefault(long pages) {
  long size = sysconf(_SC_PAGESIZE);
  volatile char *p = mmap(NULL, (size_t)(pages * size), PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (p == MAP_FAILED) die("mmap");
  double t0 = now();
  for (long i = 0; i < pages; i++) p[i * size] = 1;
  double seconds = now() - t0;
  munmap((void *)p, (size_t)(pages * size));
  printf("{\"op\":\"pagefault\",\"seconds\":%.9f,\"pages\":%ld}\n", seconds / (double)pages, pages);
}

// ---------------------------------------------------------------- the library's thread structure
//
// The *-io commands and pingpong run each request the way the library does
// (native/netlink_socket.cc, and libuv under the thread-safe function):
// - the caller ("JS thread") queues it under a mutex and writes the I/O
//   thread's eventfd only when that thread sleeps;
// - the I/O thread looks for work for SPIN_US (sched_yield() between looks,
//   as kSpinMicros) before it sleeps in poll() on its eventfd; it does the
//   request, queues the completion under a mutex and signals it as
//   uv_async_send() does (an eventfd write unless one is pending);
// - the caller sleeps in epoll_wait() on that eventfd, as the event loop.
// Both threads count their real sleeps (voluntary context switches).

static struct {
  pthread_mutex_t mu;
  long queued, completed;  // under mu
  int sleeping, stop;      // under mu
  atomic_long queued_hint; // the spin's look at `queued` without the lock
  atomic_int async_pending;
  int wake_fd, done_fd, ep;
  long spin_us;
  void (*op)(long);
  long io_sleeps;
  pthread_t thread;
} io = {.mu = PTHREAD_MUTEX_INITIALIZER};

static void efd_signal(int fd) {
  uint64_t one = 1;
  if (write(fd, &one, sizeof one) < 0 && errno != EAGAIN) die("eventfd write");
}

static void efd_drain(int fd) {
  uint64_t v;
  if (read(fd, &v, sizeof v) < 0 && errno != EAGAIN) die("eventfd read");
}

static long thread_sleeps(void) {
  struct rusage ru;
  getrusage(RUSAGE_THREAD, &ru);
  return ru.ru_nvcsw;
}

static int io_wait_for_work(void) {
  double until = now() + io.spin_us / 1e6;
  while (atomic_load_explicit(&io.queued_hint, memory_order_acquire) == 0 && now() < until) sched_yield();
  for (;;) {
    pthread_mutex_lock(&io.mu);
    int stop = io.stop, work = io.queued > 0;
    if (!stop && !work) io.sleeping = 1;
    pthread_mutex_unlock(&io.mu);
    if (stop) return 0;
    if (work) return 1;
    struct pollfd p = {io.wake_fd, POLLIN, 0};
    if (poll(&p, 1, -1) > 0) efd_drain(io.wake_fd);
    pthread_mutex_lock(&io.mu);
    io.sleeping = 0;
    pthread_mutex_unlock(&io.mu);
  }
}

static void *io_main(void *arg) {
  (void)arg;
  long sleeps0 = thread_sleeps();
  for (long i = 0; io_wait_for_work(); i++) {
    pthread_mutex_lock(&io.mu);
    io.queued--;
    atomic_store_explicit(&io.queued_hint, io.queued, memory_order_release);
    pthread_mutex_unlock(&io.mu);
    TRACE(TRACE_TAKEN);
    io.op(i);
    TRACE(TRACE_POSTED);
    pthread_mutex_lock(&io.mu);
    io.completed++;
    pthread_mutex_unlock(&io.mu);
    if (atomic_exchange(&io.async_pending, 1) == 0) efd_signal(io.done_fd);
  }
  io.io_sleeps = thread_sleeps() - sleeps0;
  return NULL;
}

static void io_start(void (*op)(long), long spin_us) {
  io.stop = io.sleeping = 0;  // run again inside one process (bench/inproc.c)
  io.queued = io.completed = 0;
  atomic_store(&io.queued_hint, 0);
  atomic_store(&io.async_pending, 0);
  io.op = op;
  io.spin_us = spin_us;
  io.wake_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  io.done_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  io.ep = epoll_create1(EPOLL_CLOEXEC);
  if (io.wake_fd < 0 || io.done_fd < 0 || io.ep < 0) die("eventfd/epoll");
  struct epoll_event ev = {.events = EPOLLIN};
  if (epoll_ctl(io.ep, EPOLL_CTL_ADD, io.done_fd, &ev) != 0) die("epoll_ctl");
  if ((errno = pthread_create(&io.thread, NULL, io_main, NULL))) die("pthread_create");
}

static void io_stop(void) {
  pthread_mutex_lock(&io.mu);
  io.stop = 1;
  pthread_mutex_unlock(&io.mu);
  efd_signal(io.wake_fd);
  pthread_join(io.thread, NULL);
  close(io.wake_fd);
  close(io.done_fd);
  close(io.ep);
}

// Hands the next request to the I/O thread, waking it only when it sleeps.
// Returns 1 when it was asleep.
static int io_submit(void) {
  pthread_mutex_lock(&io.mu);
  io.queued++;
  atomic_store_explicit(&io.queued_hint, io.queued, memory_order_release);
  int wake = io.sleeping;
  io.sleeping = 0;
  pthread_mutex_unlock(&io.mu);
  if (wake) efd_signal(io.wake_fd);
  return wake;
}

// The caller's side of the done eventfd once it is readable: how many
// requests are complete.
static long io_take_completed(void) {
  efd_drain(io.done_fd);
  atomic_store(&io.async_pending, 0);
  pthread_mutex_lock(&io.mu);
  long done = io.completed;
  pthread_mutex_unlock(&io.mu);
  return done;
}

// One awaited request (the i-th): hand it over, sleep until it is done.
// Returns 1 when the I/O thread was asleep and had to be woken.
static int io_call(long i) {
  int wake = io_submit();
  for (;;) {
    struct epoll_event ev;
    if (epoll_wait(io.ep, &ev, 1, -1) < 0) {
      if (errno == EINTR) continue;
      die("epoll_wait");
    }
    if (io_take_completed() > i) return wake;
  }
}

// Runs N awaited requests: on this thread (spin_us < 0), or each handed to
// an I/O thread (started before and stopped after the timed part).
static void run_seq(const char *op_name, void (*op)(long), long n, long spin_us, long work_us) {
  long wakes = 0;
  if (spin_us >= 0) io_start(op, spin_us);
  long sleeps0 = thread_sleeps();
  double t0 = now();
  for (long i = 0; i < n; i++) {
    if (spin_us < 0) {
      op(i);
    } else {
      wakes += io_call(i);
    }
  }
  double t = now() - t0;
  long sleeps = thread_sleeps() - sleeps0;
  if (spin_us >= 0) io_stop();
  printf("{\"op\":\"%s\",\"n\":%ld,\"seconds\":%.9f,\"spinUs\":%ld,\"workUs\":%ld,\"ioWakes\":%ld,"
         "\"callerSleeps\":%ld,\"ioSleeps\":%ld}\n",
         op_name, n, t, spin_us, work_us, wakes, sleeps, spin_us >= 0 ? io.io_sleeps : 0);
}

// The requests the sequential commands make, numbered from 0.
static struct {
  int lower;
  const char *prefix, *name;
  long start, work_us;
  int *ifindex, read_tap;
} seq;

static void op_create(long i) {
  static struct buf b;
  char name[IFNAMSIZ];
  b.len = 0;
  uint32_t first = seq_next;
  link_name(name, seq.prefix, seq.start + i);
  add_create(&b, seq.lower, name);
  TRACE(TRACE_SENDING);
  nl_send(&b);
  TRACE(TRACE_SENT);
  wait_acks(first, 1, seq.ifindex + i);
  if (seq.read_tap == 1) tap_devt(name, seq.ifindex[i]);  // as createMacvtap does
  if (seq.read_tap == 2) uevent_tap_devt(seq.ifindex[i]);
}

static void op_delete(long i) {
  static struct buf b;
  char name[IFNAMSIZ];
  b.len = 0;
  uint32_t first = seq_next;
  size_t m = msg_begin(&b, RTM_DELLINK, NLM_F_REQUEST | NLM_F_ACK, 0);
  link_name(name, seq.prefix, seq.start + i);
  attr(&b, IFLA_IFNAME, name, strlen(name) + 1);
  msg_end(&b, m);
  nl_send(&b);
  wait_acks(first, 1, NULL);
}

// SPIN_US < 0: on this thread (delete-seq).
static void cmd_delete_seq(const char *prefix, long start, long n, long spin_us) {
  seq.prefix = prefix;
  seq.start = start;
  run_seq(spin_us < 0 ? "delete-seq" : "delete-seq-io", op_delete, n, spin_us, 0);
}

static void op_get(long i) {
  static struct buf b;
  b.len = 0;
  uint32_t first = seq_next;
  size_t m = msg_begin(&b, RTM_GETLINK, NLM_F_REQUEST | NLM_F_ACK, 0);
  attr_u32(&b, IFLA_EXT_MASK, RTEXT_FILTER_SKIP_STATS);
  attr(&b, IFLA_IFNAME, seq.name, strlen(seq.name) + 1);
  msg_end(&b, m);
  nl_send(&b);
  int index = 0;
  wait_acks(first, 1, &index);
  if (index <= 0) {
    fprintf(stderr, "ref: no reply for %s (request %ld)\n", seq.name, i);
    exit(1);
  }
}

static void op_busy(long i) {
  (void)i;
  double until = now() + seq.work_us / 1e6;
  while (now() < until) {
  }
}

static void op_dump(long i) {
  (void)i;
  if (dump_once() < 0) die("dump: a link without a name");
}

static void cmd_create_seq_io(int lower, const char *prefix, long start, long n, long spin_us, int read_tap) {
  seq.lower = lower;
  seq.read_tap = read_tap;
  seq.prefix = prefix;
  seq.start = start;
  seq.ifindex = calloc((size_t)n, sizeof *seq.ifindex);
  if (read_tap == 2) uevent_open();
  run_seq("create-seq-io", op_create, n, spin_us, 0);
  for (long i = 0; i < n; i++) {
    if (seq.ifindex[i] <= 0) {
      fprintf(stderr, "ref: no echo for link %ld\n", i);
      exit(1);
    }
  }
}

static int read_file(const char *path, char *out, size_t cap) {
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return -1;
  ssize_t n = read(fd, out, cap - 1);
  close(fd);
  if (n <= 0) return -1;
  out[n] = 0;
  return 0;
}

// A macvtap's device number, read from sysfs as the library reads it
// (native/tap_device.cc ReadTapDevt).
static dev_t tap_devt(const char *name, int ifindex) {
  char p[256], v[64];
  unsigned ma, mi;
  snprintf(p, sizeof p, "/sys/class/net/%s/macvtap/tap%d/dev", name, ifindex);
  if (read_file(p, v, sizeof v) || sscanf(v, "%u:%u", &ma, &mi) != 2) die(p);
  return makedev(ma, mi);
}

// The kernel's uevents of this namespace (NETLINK_KOBJECT_UEVENT, group 1):
// a new macvtap's "add@.../macvtap/tapN" carries MAJOR= and MINOR=, queued
// before the RTM_NEWLINK's ACK.
static int uev = -1;

static void uevent_open(void) {
  uev = socket(AF_NETLINK, SOCK_DGRAM | SOCK_CLOEXEC, NETLINK_KOBJECT_UEVENT);
  if (uev < 0) die("uevent socket");
  int rcv = 8 << 20;
  if (setsockopt(uev, SOL_SOCKET, SO_RCVBUFFORCE, &rcv, sizeof rcv) != 0) die("uevent SO_RCVBUFFORCE");
  struct sockaddr_nl a = {.nl_family = AF_NETLINK, .nl_groups = 1};
  if (bind(uev, (struct sockaddr *)&a, sizeof a) != 0) die("uevent bind");
}

// What is queued is read 16 at a time with recvmmsg() and remembered by
// ifindex, as the library does (a batched create reads them all at once),
// in the slot of the ifindex modulo the table's size: the namespace's
// ifindexes only grow (past 65536 in a bench of 15 runs), and a batch's
// links are far fewer.
#define UEVENT_SLOTS (1 << 16)
static struct {
  int ifindex;
  dev_t devt;
} uevent_seen[UEVENT_SLOTS];

static dev_t uevent_tap_devt(int ifindex) {
  enum { BATCH = 16, SIZE = 4096 };
  static char bufs[BATCH][SIZE];
  if (ifindex <= 0) die("uevent: no ifindex");
  while (uevent_seen[ifindex % UEVENT_SLOTS].ifindex != ifindex) {
    struct mmsghdr msgs[BATCH];
    struct iovec iov[BATCH];
    for (int i = 0; i < BATCH; i++) {
      iov[i] = (struct iovec){bufs[i], SIZE - 1};
      msgs[i] = (struct mmsghdr){.msg_hdr = {.msg_iov = &iov[i], .msg_iovlen = 1}};
    }
    int got = recvmmsg(uev, msgs, BATCH, MSG_DONTWAIT, NULL);
    if (got <= 0) die("uevent: no add for the new tap");
    for (int m = 0; m < got; m++) {
      char *buf = bufs[m];
      size_t n = msgs[m].msg_len;
      buf[n] = 0;
      if (strncmp(buf, "add@", 4)) continue;
      unsigned ma = 0, mi = 0;
      int tap = 0;
      for (char *f = buf + strlen(buf) + 1; f < buf + n; f += strlen(f) + 1) {
        if (!strncmp(f, "MAJOR=", 6)) ma = (unsigned)atoi(f + 6);
        else if (!strncmp(f, "MINOR=", 6)) mi = (unsigned)atoi(f + 6);
        else if (!strncmp(f, "DEVNAME=tap", 11)) tap = atoi(f + 11);
      }
      if (tap > 0 && ma) {
        uevent_seen[tap % UEVENT_SLOTS].ifindex = tap;
        uevent_seen[tap % UEVENT_SLOTS].devt = makedev(ma, mi);
      }
    }
  }
  return uevent_seen[ifindex % UEVENT_SLOTS].devt;
}

// The node to open for a macvtap: /dev/tapN when it is this link's device
// (devtmpfs is shared by all namespaces), else a node made in `node_dir`.
static void tap_path(const char *name, const char *node_dir, char *path, size_t cap) {
  char p[256], v[64];
  snprintf(p, sizeof p, "/sys/class/net/%s/ifindex", name);
  if (read_file(p, v, sizeof v)) die(p);
  int index = atoi(v);
  dev_t devt = tap_devt(name, index);
  unsigned ma = major(devt), mi = minor(devt);
  struct stat st;
  snprintf(path, cap, "/dev/tap%d", index);
  if (stat(path, &st) == 0 && S_ISCHR(st.st_mode) && st.st_rdev == devt) return;
  mkdir(node_dir, 0700);
  snprintf(path, cap, "%s/tap%u_%u", node_dir, ma, mi);
  unlink(path);
  if (mknod(path, S_IFCHR | 0600, devt) != 0) die(path);
}

static void cmd_tap(const char *name, long iterations, const char *node_dir) {
  char path[256];
  tap_path(name, node_dir, path, sizeof path);
  printf("{\"op\":\"tap\",\"path\":\"%s\",\"seconds\":[", path);
  for (long i = 0; i < iterations; i++) {
    double t0 = now();
    int fd = open(path, O_RDWR | O_NONBLOCK | O_CLOEXEC);
    if (fd < 0) die(path);
    close(fd);
    printf("%s%.9f", i ? "," : "", now() - t0);
  }
  printf("]}\n");
}

// openTap's work, and its close (odd i), for tap-io.
static struct {
  const char *name, *node_dir;
  int fd, sock;
} tapio;

static void op_tap(long i) {
  if (i % 2) {
    close(tapio.fd);
    return;
  }
  char path[256];
  tap_path(tapio.name, tapio.node_dir, path, sizeof path);
  int fd = open(path, O_RDWR | O_NONBLOCK | O_CLOEXEC);
  if (fd < 0) die(path);
  struct ifreq ifr = {0};
  if (ioctl(fd, TUNGETIFF, &ifr) != 0 || strcmp(ifr.ifr_name, tapio.name)) die("TUNGETIFF");
  memset(&ifr, 0, sizeof ifr);
  ifr.ifr_flags = IFF_TAP | IFF_NO_PI;
  if (ioctl(fd, TUNSETIFF, &ifr) != 0) die("TUNSETIFF");
  unsigned features;
  if (ioctl(fd, TUNGETFEATURES, &features) != 0) die("TUNGETFEATURES");
  memset(&ifr, 0, sizeof ifr);
  strncpy(ifr.ifr_name, tapio.name, IFNAMSIZ - 1);
  if (ioctl(tapio.sock, SIOCGIFHWADDR, &ifr) != 0) die("SIOCGIFHWADDR");
  tapio.fd = fd;
}

static void cmd_tap_io(const char *name, long iterations, const char *node_dir, long spin_us) {
  tapio.name = name;
  tapio.node_dir = node_dir;
  tapio.sock = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (tapio.sock < 0) die("socket");
  run_seq(spin_us < 0 ? "tap-seq" : "tap-io", op_tap, 2 * iterations, spin_us, 0);
  close(tapio.sock);
}

static int open_plain_tap(const char *name, const char *node_dir, unsigned char mac[6]) {
  char path[256], p[256], v[64];
  tap_path(name, node_dir, path, sizeof path);
  int fd = open(path, O_RDWR | O_NONBLOCK | O_CLOEXEC);
  if (fd < 0) die(path);
  struct ifreq ifr = {0};
  ifr.ifr_flags = IFF_TAP | IFF_NO_PI;  // no virtio-net header: plain frames, as the library's default
  if (ioctl(fd, TUNSETIFF, &ifr) != 0) die("TUNSETIFF");
  snprintf(p, sizeof p, "/sys/class/net/%s/address", name);
  if (read_file(p, v, sizeof v)) die(p);
  if (sscanf(v, "%hhx:%hhx:%hhx:%hhx:%hhx:%hhx", &mac[0], &mac[1], &mac[2], &mac[3], &mac[4], &mac[5]) != 6) die(p);
  return fd;
}

#define BENCH_ETHERTYPE 0x88b5  // IEEE local experimental

static void cmd_frames(const char *a_name, const char *b_name, long size, long count, long inflight,
                       const char *node_dir) {
  unsigned char mac_a[6], mac_b[6];
  int a = open_plain_tap(a_name, node_dir, mac_a);
  int b = open_plain_tap(b_name, node_dir, mac_b);
  unsigned char *frame = calloc(1, (size_t)size);
  memcpy(frame, mac_b, 6);
  memcpy(frame + 6, mac_a, 6);
  frame[12] = BENCH_ETHERTYPE >> 8;
  frame[13] = BENCH_ETHERTYPE & 0xff;
  for (long i = 14; i < size; i++) frame[i] = (unsigned char)i;
  static unsigned char in[65536];
  long sent = 0, got = 0, other = 0, stalls = 0;
  double t0 = now(), last = t0;
  while (got + stalls < count) {
    while (sent < count && sent - got - stalls < inflight) {
      ssize_t n = write(a, frame, (size_t)size);
      if (n < 0 && errno == EINTR) continue;
      if (n < 0 && errno == EAGAIN) break;
      if (n != size) die("write");
      sent++;
    }
    int progressed = 0;
    for (;;) {
      ssize_t n = read(b, in, sizeof in);
      if (n < 0 && errno == EINTR) continue;
      if (n < 0 && errno == EAGAIN) break;
      if (n < 0) die("read");
      if (n >= 14 && in[12] == (BENCH_ETHERTYPE >> 8) && in[13] == (BENCH_ETHERTYPE & 0xff)) {
        got++;
        progressed = 1;
      } else {
        other++;
      }
    }
    if (progressed) {
      last = now();
      continue;
    }
    struct pollfd p[2] = {{b, POLLIN, 0}, {a, sent < count ? POLLOUT : 0, 0}};
    if (poll(p, 2, 20) == 0 && now() - last > 0.2) {
      stalls += sent - got - stalls;  // frames in flight for 200 ms: count them lost
      last = now();
    }
  }
  double t = now() - t0;
  printf("{\"op\":\"frames\",\"size\":%ld,\"sent\":%ld,\"received\":%ld,\"lost\":%ld,\"other\":%ld,\"seconds\":%.9f}\n",
         size, sent, got, stalls, other, t);
  close(a);
  close(b);
}

static long num(const char *s) {
  char *end;
  long v = strtol(s, &end, 10);
  if (*s == 0 || *end != 0) {
    fprintf(stderr, "ref: not a number: %s\n", s);
    exit(2);
  }
  return v;
}

int main(int argc, char **argv) {
  setvbuf(stdout, NULL, _IOFBF, 1 << 16);
  const char *cmd = argc > 1 ? argv[1] : "";
  if (!strcmp(cmd, "tap") && argc == 5) {
    cmd_tap(argv[2], num(argv[3]), argv[4]);
    return 0;
  }
  if (!strcmp(cmd, "tap-io") && argc == 6) {
    cmd_tap_io(argv[2], num(argv[3]), argv[4], num(argv[5]));
    return 0;
  }
  if (!strcmp(cmd, "frames") && argc == 8) {
    cmd_frames(argv[2], argv[3], num(argv[4]), num(argv[5]), num(argv[6]), argv[7]);
    return 0;
  }
  if (!strcmp(cmd, "pagefault") && argc == 3) {
    cmd_pagefault(num(argv[2]));
    return 0;
  }
  if (!strcmp(cmd, "pingpong") && argc == 5) {
    seq.work_us = num(argv[4]);
    run_seq("pingpong", op_busy, num(argv[2]), num(argv[3]), seq.work_us);
    return 0;
  }
  nl_open();
  if ((!strcmp(cmd, "create-seq") || !strcmp(cmd, "create-batch")) && (argc == 6 || argc == 7)) {
    cmd_create(!strcmp(cmd, "create-batch"), (int)num(argv[2]), argv[3], num(argv[4]), num(argv[5]),
               argc == 7 ? (int)num(argv[6]) : 0);
  } else if (!strcmp(cmd, "delete-seq") && argc == 5) {
    cmd_delete_seq(argv[2], num(argv[3]), num(argv[4]), -1);
  } else if (!strcmp(cmd, "delete-seq-io") && argc == 6) {
    cmd_delete_seq(argv[2], num(argv[3]), num(argv[4]), num(argv[5]));
  } else if (!strcmp(cmd, "delete-group") && argc == 6) {
    cmd_delete_group(argv[2], num(argv[3]), num(argv[4]), (uint32_t)num(argv[5]));
  } else if (!strcmp(cmd, "dump") && argc == 3) {
    cmd_dump(num(argv[2]));
  } else if (!strcmp(cmd, "create-seq-io") && argc == 8) {
    cmd_create_seq_io((int)num(argv[2]), argv[3], num(argv[4]), num(argv[5]), num(argv[6]), (int)num(argv[7]));
  } else if (!strcmp(cmd, "dump-io") && argc == 4) {
    run_seq("dump-io", op_dump, num(argv[2]), num(argv[3]), 0);
  } else if (!strcmp(cmd, "get-seq") && argc == 4) {
    seq.name = argv[2];
    run_seq("get-seq", op_get, num(argv[3]), -1, 0);
  } else if (!strcmp(cmd, "get-seq-io") && argc == 5) {
    seq.name = argv[2];
    run_seq("get-seq-io", op_get, num(argv[3]), num(argv[4]), 0);
  } else {
    fprintf(stderr, "usage: see the top of bench/ref.c\n");
    return 2;
  }
  return 0;
}
