#pragma once
// Errors as values. An Error carries the sentence a user reads and how the
// process should end; it travels up to main(), the one place that prints.

#include <cerrno>
#include <cstring>
#include <string>
#include <string_view>
#include <utility>
#include <variant>

namespace tracer {

enum class ExitKind {
  runtime,      // §7 status 1: cannot load, cannot open output, ...
  usage,        // §7 status 2: bad command line
  reader_gone,  // §6: the reader of stdout went away; exit 0 quietly
  answered,     // --help/--version: the message goes to stdout, exit 0
};

struct Error {
  std::string message;
  ExitKind kind = ExitKind::runtime;
};

inline Error runtime_error(std::string message) { return Error{std::move(message), ExitKind::runtime}; }
inline Error usage_error(std::string message) { return Error{std::move(message), ExitKind::usage}; }

// The text of an errno value; negative values (libbpf's -errno) too.
inline std::string errno_text(int error) { return std::strerror(error < 0 ? -error : error); }
// "WHAT: <errno text>" as a runtime error; errno by default.
inline Error errno_error(std::string_view what, int error = errno) {
  return runtime_error(std::string(what) + ": " + errno_text(error));
}

template <typename T>
class [[nodiscard]] Result {
 public:
  Result(T value) : state_(std::move(value)) {}      // NOLINT: implicit by design
  Result(Error error) : state_(std::move(error)) {}  // NOLINT

  [[nodiscard]] bool ok() const { return std::holds_alternative<T>(state_); }
  explicit operator bool() const { return ok(); }
  T& value() & { return std::get<T>(state_); }
  const T& value() const& { return std::get<T>(state_); }
  T&& value() && { return std::get<T>(std::move(state_)); }
  T& operator*() & { return value(); }
  T&& operator*() && { return std::move(*this).value(); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }
  const Error& error() const { return std::get<Error>(state_); }
  Error&& take_error() { return std::get<Error>(std::move(state_)); }

 private:
  std::variant<T, Error> state_;
};

struct Ok {};
using Status = Result<Ok>;
inline Status ok_status() { return Ok{}; }

}  // namespace tracer
