// The one convention for fallible construction, loading and other operations that can fail:
// return Result<T> (or Status when there is no value). No out-parameters, no "empty string means
// success", no exceptions on the request path.
//
//   Result<std::unique_ptr<Foo>> Foo::create(const Settings&);
//   auto foo = Foo::create(settings);
//   if (!foo) return Error(foo.error().message());  // or report foo.error().messages()
//   use(*foo.value());
//
// An Error carries one message, or several when a loader reports every problem it found at once
// (the configuration does). Messages are for people: they name the setting, file or topic at
// fault and never contain secrets.
#pragma once

#include <cassert>
#include <string>
#include <utility>
#include <variant>
#include <vector>

namespace cmr_bridge {

class Error {
 public:
  explicit Error(std::string message) : messages_{std::move(message)} {}
  explicit Error(std::vector<std::string> messages) : messages_(std::move(messages)) {
    if (messages_.empty())
      messages_.emplace_back("unknown error");
  }

  // The first (usually the only) problem.
  const std::string& message() const { return messages_.front(); }
  // Every problem, in the order found.
  const std::vector<std::string>& messages() const { return messages_; }
  // All problems on one line, separated by "; ".
  std::string joined() const {
    std::string out;
    for (const auto& m : messages_) {
      if (!out.empty())
        out += "; ";
      out += m;
    }
    return out;
  }

 private:
  std::vector<std::string> messages_;
};

template <typename T>
class [[nodiscard]] Result {
 public:
  Result(T value) : state_(std::in_place_index<0>, std::move(value)) {}      // NOLINT: implicit
  Result(Error error) : state_(std::in_place_index<1>, std::move(error)) {}  // NOLINT: implicit

  bool ok() const { return state_.index() == 0; }
  explicit operator bool() const { return ok(); }

  T& value() & {
    assert(ok());
    return std::get<0>(state_);
  }
  const T& value() const& {
    assert(ok());
    return std::get<0>(state_);
  }
  T&& value() && {
    assert(ok());
    return std::get<0>(std::move(state_));
  }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }
  T& operator*() & { return value(); }

  const Error& error() const {
    assert(!ok());
    return std::get<1>(state_);
  }

 private:
  std::variant<T, Error> state_;
};

struct Ok {};

// Result of an operation that produces nothing but can fail.
using Status = Result<Ok>;

inline Status ok_status() {
  return Ok{};
}

}  // namespace cmr_bridge
