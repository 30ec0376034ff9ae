// The batches src/calls.ts settles its promises from: [id, errno, value, ...]
// in one JS array, handed over with one call. A failure's value is undefined
// or [extack message, extack attribute]. A call that answers in parts gets
// kPart entries (value: a part) before its result, and kPartsVoid when
// the parts so far no longer count (a dump sent again).
#pragma once

#include <napi.h>

#include <cstddef>
#include <cstdint>

namespace macvlan {

constexpr int kPart = -1;
constexpr int kPartsVoid = -2;

class SettleBatch {
 public:
  explicit SettleBatch(Napi::Env env) : env_(env), list_(Napi::Array::New(env)) {}

  void Add(double id, int error, Napi::Value value) {
    list_.Set(n_++, Napi::Number::New(env_, id));
    list_.Set(n_++, Napi::Number::New(env_, error));
    list_.Set(n_++, value);
  }
  size_t size() const { return n_ / 3; }
  void Deliver(const Napi::Function& settle) {
    if (n_ > 0) settle.Call({list_});
  }

 private:
  Napi::Env env_;
  Napi::Array list_;
  uint32_t n_ = 0;
};

}  // namespace macvlan
