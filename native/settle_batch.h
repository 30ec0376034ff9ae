// The batches src/calls.ts settles its promises from: [id, errno, value, ...]
// in one JS array, handed over with one call. A failure's value is undefined
// or [extack message, extack attribute].
#pragma once

#include <napi.h>

#include <cstddef>
#include <cstdint>

namespace macvlan {

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
