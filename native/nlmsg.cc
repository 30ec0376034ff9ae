#include "nlmsg.h"

#include <linux/netlink.h>

namespace macvlan {

MessageBuilder::MessageBuilder(uint16_t type, uint16_t flags) {
  buf_.reserve(256);
  Grow(sizeof(nlmsghdr));
  auto* h = reinterpret_cast<nlmsghdr*>(buf_.data());
  h->nlmsg_type = type;
  h->nlmsg_flags = flags;
}

size_t MessageBuilder::Grow(size_t len) {
  size_t at = buf_.size();
  buf_.resize(at + NLMSG_ALIGN(len), 0);
  return at;
}

void MessageBuilder::Put(uint16_t type, const void* data, size_t len, const char* name) {
  size_t at = Grow(NLA_HDRLEN + len);
  auto* a = reinterpret_cast<nlattr*>(buf_.data() + at);
  a->nla_type = type;
  a->nla_len = static_cast<uint16_t>(NLA_HDRLEN + len);
  if (len > 0) std::memcpy(buf_.data() + at + NLA_HDRLEN, data, len);
  attrs_.push_back({static_cast<uint32_t>(at), a->nla_len, name});
}

void MessageBuilder::PutString(uint16_t type, std::string_view s, const char* name) {
  std::string z(s);
  Put(type, z.c_str(), z.size() + 1, name);
}

size_t MessageBuilder::BeginNest(uint16_t type, const char* name) {
  size_t at = Grow(NLA_HDRLEN);
  auto* a = reinterpret_cast<nlattr*>(buf_.data() + at);
  a->nla_type = type;  // no NLA_F_NESTED, as iproute2 sends them
  attrs_.push_back({static_cast<uint32_t>(at), 0, name});
  return at;
}

void MessageBuilder::EndNest(size_t offset) {
  auto* a = reinterpret_cast<nlattr*>(buf_.data() + offset);
  a->nla_len = static_cast<uint16_t>(buf_.size() - offset);
  for (auto& loc : attrs_) {
    if (loc.offset == offset) loc.length = a->nla_len;
  }
}

std::vector<uint8_t> MessageBuilder::Finish() {
  reinterpret_cast<nlmsghdr*>(buf_.data())->nlmsg_len = static_cast<uint32_t>(buf_.size());
  return std::move(buf_);
}

std::optional<uint8_t> Attr::U8() const {
  if (len < 1) return std::nullopt;
  return data[0];
}

std::optional<uint16_t> Attr::U16() const {
  if (len < 2) return std::nullopt;
  uint16_t v;
  std::memcpy(&v, data, 2);
  return v;
}

std::optional<uint32_t> Attr::U32() const {
  if (len < 4) return std::nullopt;
  uint32_t v;
  std::memcpy(&v, data, 4);
  return v;
}

std::optional<int32_t> Attr::S32() const {
  if (len < 4) return std::nullopt;
  int32_t v;
  std::memcpy(&v, data, 4);
  return v;
}

std::string Attr::String() const {
  const char* s = reinterpret_cast<const char*>(data);
  return std::string(s, strnlen(s, len));
}

bool AttrReader::Next(Attr* out) {
  if (p_ == nullptr || p_ >= end_) return false;
  size_t left = static_cast<size_t>(end_ - p_);
  if (left < NLA_HDRLEN) {
    truncated_ = true;
    return false;
  }
  nlattr a;
  std::memcpy(&a, p_, sizeof a);
  if (a.nla_len < NLA_HDRLEN || a.nla_len > left) {
    truncated_ = true;
    return false;
  }
  out->type = a.nla_type & NLA_TYPE_MASK;
  out->data = p_ + NLA_HDRLEN;
  out->len = a.nla_len - NLA_HDRLEN;
  size_t step = NLA_ALIGN(a.nla_len);
  p_ = step >= left ? end_ : p_ + step;
  return true;
}

const nlmsghdr* MessageReader::Next() {
  if (p_ >= end_) return nullptr;
  size_t left = static_cast<size_t>(end_ - p_);
  if (left < sizeof(nlmsghdr)) {
    truncated_ = true;
    return nullptr;
  }
  const auto* h = reinterpret_cast<const nlmsghdr*>(p_);
  if (h->nlmsg_len < sizeof(nlmsghdr) || h->nlmsg_len > left) {
    truncated_ = true;
    return nullptr;
  }
  size_t step = NLMSG_ALIGN(h->nlmsg_len);
  p_ = step >= left ? end_ : p_ + step;
  return h;
}

namespace {
void ReadAckTlvs(const nlmsghdr* h, size_t start, AckInfo* ack) {
  if (!(h->nlmsg_flags & NLM_F_ACK_TLVS) || start > h->nlmsg_len) return;
  AttrReader r(reinterpret_cast<const uint8_t*>(h) + start, h->nlmsg_len - start);
  Attr a;
  while (r.Next(&a)) {
    if (a.type == NLMSGERR_ATTR_MSG) ack->message = a.String();
    if (a.type == NLMSGERR_ATTR_OFFS) ack->offset = a.U32();
  }
}
}  // namespace

std::optional<AckInfo> ParseAck(const nlmsghdr* h) {
  if (h->nlmsg_type != NLMSG_ERROR || h->nlmsg_len < NLMSG_LENGTH(sizeof(nlmsgerr))) {
    return std::nullopt;
  }
  const auto* e = reinterpret_cast<const nlmsgerr*>(NLMSG_DATA(h));
  AckInfo ack;
  ack.error = e->error;
  // With NLM_F_CAPPED (NETLINK_CAP_ACK) only the request's header is echoed,
  // otherwise its whole payload: the TLVs start after whichever it was.
  size_t echoed = (h->nlmsg_flags & NLM_F_CAPPED) ? sizeof(nlmsghdr) : e->msg.nlmsg_len;
  if (echoed < sizeof(nlmsghdr)) return ack;
  ReadAckTlvs(h, NLMSG_HDRLEN + sizeof(int) + NLMSG_ALIGN(echoed), &ack);
  return ack;
}

AckInfo ParseDone(const nlmsghdr* h) {
  AckInfo ack;
  if (h->nlmsg_len < NLMSG_LENGTH(sizeof(int))) return ack;
  std::memcpy(&ack.error, NLMSG_DATA(h), sizeof ack.error);
  ReadAckTlvs(h, NLMSG_LENGTH(sizeof(int)), &ack);
  return ack;
}

const char* AttrNameAt(const std::vector<AttrLocation>& attrs, uint32_t offset) {
  const char* best = nullptr;
  uint32_t best_len = UINT32_MAX;
  for (const auto& a : attrs) {
    if (offset >= a.offset && offset < a.offset + a.length && a.length <= best_len) {
      best = a.name;
      best_len = a.length;
    }
  }
  return best;
}

namespace {
int HexDigit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}
}  // namespace

bool ParseMac(std::string_view s, uint8_t out[6]) {
  if (s.size() != 17) return false;
  for (size_t i = 0; i < 6; i++) {
    int hi = HexDigit(s[i * 3]);
    int lo = HexDigit(s[i * 3 + 1]);
    if (hi < 0 || lo < 0) return false;
    if (i < 5 && s[i * 3 + 2] != ':') return false;
    out[i] = static_cast<uint8_t>(hi << 4 | lo);
  }
  return true;
}

std::string FormatMac(const uint8_t* mac, size_t len) {
  static const char kHex[] = "0123456789abcdef";
  std::string s;
  s.reserve(len * 3);
  for (size_t i = 0; i < len; i++) {
    if (i) s.push_back(':');
    s.push_back(kHex[mac[i] >> 4]);
    s.push_back(kHex[mac[i] & 15]);
  }
  return s;
}

}  // namespace macvlan
