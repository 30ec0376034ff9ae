// One NETLINK_ROUTE socket driven by its own I/O thread: the rules for
// requests and replies (seq, portid, ACKs, dumps, batching) live here.
#pragma once

#include <atomic>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "nlmsg.h"
#include "rtnl_link.h"

namespace macvlan {

// One request in flight. Subclasses build the message and collect replies on
// the I/O thread; the owner turns them into a result on its own thread.
class Request {
 public:
  virtual ~Request() = default;

  // I/O thread, before sending: fill `encoded`; return 0 or -errno. A job
  // that is not a netlink request does its work here and leaves `encoded`
  // empty: it completes without going to the kernel.
  virtual int Prepare() = 0;
  // I/O thread: each reply with our seq that is neither an ACK nor NLMSG_DONE
  // (the echo of a create, the answer of a get, the parts of a dump).
  virtual void OnReply(const nlmsghdr* h) = 0;
  // I/O thread: after each datagram that carried replies for this request
  // while it is not complete yet (a dump arrives in many). True has the
  // owner told (SocketListener::OnProgress).
  virtual bool OnReceived() { return false; }
  // I/O thread: a dump raced a change (NLM_F_DUMP_INTR) and is sent again.
  virtual void OnRestart() {}
  // I/O thread, once the request is complete: finish the result and free
  // what Prepare() acquired.
  virtual void Complete() {}

  EncodedRequest encoded;
  int error = 0;                   // 0 or a positive errno
  std::string ext_message;         // NLMSGERR_ATTR_MSG
  const char* ext_attr = nullptr;  // the request attribute NLMSGERR_ATTR_OFFS names
  int dump_restarts = 0;
  bool restart = false;  // a dump that raced a change, or a get whose reply did not fit, goes out again
  // The thread sleeps at once after this job, rather than look for the next
  // request a while: what follows it is not ours (the open of a tap of
  // several queues, whose fds close on the thread pool and wait in
  // synchronize_rcu() for a spinning CPU).
  bool sleep_after = false;
};

using RequestList = std::vector<std::unique_ptr<Request>>;

class SocketListener {
 public:
  virtual ~SocketListener() = default;
  // 0 or a positive errno; `tid`, the I/O thread's id: a task in the
  // namespace, for IFLA_NET_NS_PID.
  virtual void OnOpened(int error, int tid) = 0;
  virtual void OnCompleted(RequestList done) = 0;  // I/O thread
  // I/O thread: r->OnReceived() asked for it. `r` lives until its
  // completion has been handled, which comes after this.
  virtual void OnProgress(Request* r) { (void)r; }
  virtual void OnExit() = 0;  // the I/O thread's last act
  // I/O thread: a descriptor to watch while the thread has no request
  // (-1: none), and what to do when it is readable, so that what it queues
  // is read off any request's time.
  virtual int IdleFd() { return -1; }
  virtual void OnIdleReadable() {}
};

class NetlinkSocket {
 public:
  // Starts the I/O thread: it enters `netns_path` (when not empty), opens the
  // socket there and reports through listener->OnOpened().
  NetlinkSocket(std::string netns_path, SocketListener* listener);
  ~NetlinkSocket();  // Stop() and Join()
  NetlinkSocket(const NetlinkSocket&) = delete;
  NetlinkSocket& operator=(const NetlinkSocket&) = delete;

  void Submit(RequestList requests);  // any thread; one wakeup for all
  void Stop();                        // any thread: queued and in-flight requests end with ECANCELED
  void Join();

  static constexpr int kMaxDumpRestarts = 10;

 private:
  void Run();
  int Open();
  void Wake();
  bool WaitForWork();
  RequestList TakeBatch();
  void RunBatch(RequestList& batch);
  bool Send(RequestList& batch, uint32_t first_seq);
  void Receive(RequestList& batch, uint32_t first_seq);
  // Until the socket has replies (true) or Stop() (false).
  bool WaitForReplies();
  static bool IsGet(const Request& r);  // RTM_GET*: safe to send again
  void Fail(RequestList& list, int error);

  std::string netns_path_;
  SocketListener* listener_;
  int fd_ = -1;
  int wake_fd_ = -1;
  uint32_t portid_ = 0;
  uint32_t next_seq_ = 0;
  size_t max_batch_ = 1;
  std::vector<uint8_t> recv_buf_;

  std::mutex mu_;
  std::deque<std::unique_ptr<Request>> queue_;
  std::atomic<size_t> queued_{0};  // queue_.size(), for the spin in WaitForWork
  bool sleeping_ = false;          // the thread waits on wake_fd_ for work
  bool spin_ = true;               // look for work a while before sleeping (not after a dump)
  bool sleep_now_ = false;         // not after a job that asks so (Request::sleep_after) either
  bool stop_ = false;
  std::thread thread_;
};

}  // namespace macvlan
