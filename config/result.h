// Result<T>: a value or every error found producing it, each with its place in the source file.
#pragma once

#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace remora {

struct SourceLocation {
  std::string file;
  int line = 0;    // 1-based; 0 when unknown
  int column = 0;  // 1-based; 0 when unknown
};

struct Error {
  // A constructor, not aggregate initialization: `Error{{path, 0, 0}, "a" + b}` as an aggregate
  // builds `where` before the message, and GCC 12 at -O3 then warns (falsely) that `where` may be
  // destroyed uninitialized on the path where building the message throws. Arguments are complete
  // before a constructor runs, so there is no such path.
  Error() = default;
  Error(SourceLocation place, std::string text)
      : where(std::move(place)), message(std::move(text)) {}

  SourceLocation where;
  std::string message;

  // "file:line:col: message", or just "message" when the place is unknown.
  std::string text() const {
    if (where.file.empty()) return message;
    if (where.line == 0) return where.file + ": " + message;
    return where.file + ":" + std::to_string(where.line) + ":" + std::to_string(where.column) +
           ": " + message;
  }
};

template <class T>
class Result {
 public:
  Result(T value) : value_(std::move(value)) {}
  Result(std::vector<Error> errors) : errors_(std::move(errors)) {}
  Result(Error error) { errors_.push_back(std::move(error)); }

  bool ok() const { return value_.has_value(); }
  explicit operator bool() const { return ok(); }
  T& value() { return *value_; }
  const T& value() const { return *value_; }
  T& operator*() { return *value_; }
  const T& operator*() const { return *value_; }
  T* operator->() { return &*value_; }
  const T* operator->() const { return &*value_; }
  const std::vector<Error>& errors() const { return errors_; }

 private:
  std::optional<T> value_;
  std::vector<Error> errors_;
};

}  // namespace remora
