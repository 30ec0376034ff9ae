// When a call passes each point on its way through the addon, for
// bench/handoff-profile.sh, which builds the addon with
// -DMACVLAN_TRACE_POINTS. In every other build MACVLAN_TRACE() is nothing.
#pragma once

#ifdef MACVLAN_TRACE_POINTS

#include <time.h>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <cstdlib>

namespace macvlan::trace {

// In the order a sequential call passes them. bench/ref.c marks the Node
// floor's calls with the same numbers.
enum Point {
  kFlushed = 1,  // JS thread: the call goes to the I/O thread
  kTaken,        // I/O thread: it has the call
  kSending,      // sendmsg() begins (rtnetlink does the work inside it)
  kSent,         // sendmsg() returned
  kPosted,       // the answer is read and handed to the JS thread
  kWoken,        // JS thread: the wakeup runs
  kSettling,     // the answers go to JS
};

struct Mark {
  int point;
  long long ns;
};
constexpr long kMaxMarks = 1 << 20;
inline Mark marks[kMaxMarks];
inline std::atomic<long> marked{0};

inline void At(Point point) {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  long i = marked.fetch_add(1, std::memory_order_relaxed);
  if (i < kMaxMarks) marks[i] = {point, ts.tv_sec * 1000000000LL + ts.tv_nsec};
}

// At exit, "point nanoseconds" lines to $MACVLAN_TRACE_FILE.
struct Writer {
  ~Writer() {
    const char* path = getenv("MACVLAN_TRACE_FILE");
    FILE* f = path ? fopen(path, "w") : nullptr;
    if (!f) return;
    long n = std::min(marked.load(), kMaxMarks);
    for (long i = 0; i < n; i++) fprintf(f, "%d %lld\n", marks[i].point, marks[i].ns);
    fclose(f);
  }
};
inline Writer writer;

}  // namespace macvlan::trace

#define MACVLAN_TRACE(point) ::macvlan::trace::At(::macvlan::trace::point)

#else

#define MACVLAN_TRACE(point) static_cast<void>(0)

#endif
