// Netlink message building and attribute parsing: bytes only, no sockets.
#pragma once

#include <linux/netlink.h>

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace macvlan {

// Where an attribute sits in an encoded request, so that an extended ACK's
// NLMSGERR_ATTR_OFFS can be turned back into the option the caller used.
struct AttrLocation {
  uint32_t offset;   // of the nlattr header, from the start of the nlmsghdr
  uint32_t length;   // nla_len
  const char* name;  // uapi name, e.g. "IFLA_MTU"
};

// One request, ready for a socket to stamp (seq, portid) and send.
struct EncodedRequest {
  std::vector<uint8_t> bytes;
  std::vector<AttrLocation> attrs;
  bool dump = false;
};

class MessageBuilder {
 public:
  MessageBuilder(uint16_t type, uint16_t flags);

  // Appends the fixed family header (ifinfomsg, ifaddrmsg, rtmsg) zeroed and
  // returns its offset; use Header<T>() to fill it.
  template <class T>
  T& Header() {
    if (header_offset_ == 0) {
      header_offset_ = Grow(sizeof(T));
    }
    return *reinterpret_cast<T*>(buf_.data() + header_offset_);
  }

  void Put(uint16_t type, const void* data, size_t len, const char* name);
  void PutU8(uint16_t type, uint8_t v, const char* name) { Put(type, &v, 1, name); }
  void PutU16(uint16_t type, uint16_t v, const char* name) { Put(type, &v, 2, name); }
  void PutU32(uint16_t type, uint32_t v, const char* name) { Put(type, &v, 4, name); }
  void PutS32(uint16_t type, int32_t v, const char* name) { Put(type, &v, 4, name); }
  void PutString(uint16_t type, std::string_view s, const char* name);  // NUL-terminated

  size_t BeginNest(uint16_t type, const char* name);
  void EndNest(size_t offset);

  // Sets nlmsg_len and hands the bytes over. nlmsg_seq and nlmsg_pid stay 0:
  // the socket stamps them when it sends.
  std::vector<uint8_t> Finish();
  std::vector<AttrLocation> TakeAttrs() { return std::move(attrs_); }

 private:
  size_t Grow(size_t len);  // appends len aligned, zeroed bytes

  std::vector<uint8_t> buf_;
  size_t header_offset_ = 0;
  std::vector<AttrLocation> attrs_;
};

// A bounds-checked view of one attribute.
struct Attr {
  uint16_t type;  // NLA_TYPE_MASK applied
  const uint8_t* data;
  size_t len;

  std::optional<uint8_t> U8() const;
  std::optional<uint16_t> U16() const;
  std::optional<uint32_t> U32() const;
  std::optional<int32_t> S32() const;
  std::string String() const;  // up to the first NUL
};

// Walks a run of attributes. Stops (and sets truncated) at the first header
// that does not fit, so a garbled reply can never be read past its end.
class AttrReader {
 public:
  AttrReader(const uint8_t* data, size_t len) : p_(data), end_(data + len) {}
  bool Next(Attr* out);
  bool truncated() const { return truncated_; }

 private:
  const uint8_t* p_;
  const uint8_t* end_;
  bool truncated_ = false;
};

// AttrReader's walk and checks, inline, for the hot path (a dump decodes
// some 40 attributes a link): calls fn(attr) for each attribute; false when
// the run was cut short.
template <class Fn>
inline bool ForEachAttr(const uint8_t* data, size_t len, Fn&& fn) {
  size_t off = 0;
  while (off < len) {
    if (len - off < NLA_HDRLEN) return false;
    nlattr h;
    std::memcpy(&h, data + off, sizeof h);
    if (h.nla_len < NLA_HDRLEN || h.nla_len > len - off) return false;
    fn(Attr{static_cast<uint16_t>(h.nla_type & NLA_TYPE_MASK), data + off + NLA_HDRLEN,
            size_t{h.nla_len} - NLA_HDRLEN});
    off += NLA_ALIGN(h.nla_len);  // past len only after the last attribute
  }
  return true;
}

// Walks the nlmsghdrs in one datagram, with the same guarantees.
class MessageReader {
 public:
  MessageReader(const uint8_t* data, size_t len) : p_(data), end_(data + len) {}
  const nlmsghdr* Next();
  bool truncated() const { return truncated_; }

 private:
  const uint8_t* p_;
  const uint8_t* end_;
  bool truncated_ = false;
};

// Payload of a message after its fixed family header; empty when the message
// is too short to hold that header.
template <class T>
const T* FamilyHeader(const nlmsghdr* h) {
  if (h->nlmsg_len < NLMSG_LENGTH(sizeof(T))) return nullptr;
  return reinterpret_cast<const T*>(NLMSG_DATA(h));
}

template <class T>
AttrReader AttributesAfter(const nlmsghdr* h) {
  size_t start = NLMSG_SPACE(sizeof(T));
  if (h->nlmsg_len < start) return AttrReader(nullptr, 0);
  const uint8_t* base = reinterpret_cast<const uint8_t*>(h);
  return AttrReader(base + start, h->nlmsg_len - start);
}

// The decoded body of an NLMSG_ERROR (an ACK when error == 0).
struct AckInfo {
  int error = 0;                   // negative errno, or 0
  std::string message;             // NLMSGERR_ATTR_MSG
  std::optional<uint32_t> offset;  // NLMSGERR_ATTR_OFFS
};
std::optional<AckInfo> ParseAck(const nlmsghdr* h);

// NLMSG_DONE carries an int error (and, with NLM_F_ACK_TLVS, the same TLVs as
// an ACK); very old kernels send an empty one.
AckInfo ParseDone(const nlmsghdr* h);

// Which attribute of the request an NLMSGERR_ATTR_OFFS points into: the
// innermost one that contains the offset.
const char* AttrNameAt(const std::vector<AttrLocation>& attrs, uint32_t offset);

// 'aa:bb:cc:dd:ee:ff' <-> bytes. Parse returns false on anything malformed.
bool ParseMac(std::string_view s, uint8_t out[6]);
std::string FormatMac(const uint8_t* mac, size_t len);

}  // namespace macvlan
