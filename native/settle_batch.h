// The batches src/calls.ts settles its promises from: id, errno, value, ...
// as the arguments of one call (JS gathers them with a rest parameter: an
// array filled from C++ cost a runtime call an element). A failure's value
// is undefined or [extack message, extack attribute]. A call that answers
// in parts gets kPart entries (value: a part) before its result, and
// kPartsVoid when the parts so far no longer count (a dump sent again).
#pragma once

#include <napi.h>

#include <cstddef>
#include <cstdint>
#include <vector>

namespace macvlan {

constexpr int kPart = -1;
constexpr int kPartsVoid = -2;

class SettleBatch {
 public:
  explicit SettleBatch(Napi::Env env) : env_(env) {}

  void Add(double id, int error, Napi::Value value) {
    args_.push_back(Napi::Number::New(env_, id));
    args_.push_back(Napi::Number::New(env_, error));
    args_.push_back(value);
  }
  size_t size() const { return args_.size() / 3; }
  void Deliver(const Napi::Function& settle) {
    if (!args_.empty()) settle.Call(args_);
  }

 private:
  Napi::Env env_;
  std::vector<napi_value> args_;
};

}  // namespace macvlan
