// An optional whose value outlives being emptied: for objects rebuilt event
// after event in one place (the pipeline's current event), so the strings in
// them keep their buffers and an event costs no allocation once a few have
// gone by. Reads like std::optional; written through Reuse().
#ifndef PERMSENTRY_COMMON_KEPT_H_
#define PERMSENTRY_COMMON_KEPT_H_

#include <optional>
#include <string>
#include <utility>

#include "absl/strings/string_view.h"

namespace permsentry {

template <typename T>
class Kept {
 public:
  Kept() = default;
  Kept(std::nullopt_t) {}                          // NOLINT: like std::optional
  Kept(T v) : value_(std::move(v)), has_(true) {}  // NOLINT: like std::optional
  Kept& operator=(std::nullopt_t) {
    reset();
    return *this;
  }

  bool has_value() const { return has_; }
  explicit operator bool() const { return has_; }
  const T& operator*() const { return value_; }
  T& operator*() { return value_; }
  const T* operator->() const { return &value_; }
  T* operator->() { return &value_; }

  Kept& operator=(T v) {
    value_ = std::move(v);
    has_ = true;
    return *this;
  }

  // Empty: the value stays, unseen, for the next Reuse().
  void reset() { has_ = false; }
  // Present again: the value as it was left, for the caller to overwrite.
  T& Reuse() {
    has_ = true;
    return value_;
  }
  // Present, and a default T again; members that keep their buffers (an
  // OptionalString assigned an empty one) keep them.
  T& emplace() {
    value_ = T();
    has_ = true;
    return value_;
  }

 private:
  T value_{};
  bool has_ = false;
};

// std::optional<std::string> for the fields of an object reused record after
// record: emptied (reset, or assigned an empty one), it keeps its buffer, and
// a new value is copied into that buffer.
class OptionalString {
 public:
  OptionalString() = default;
  OptionalString(std::nullopt_t) {}                                            // NOLINT
  OptionalString(std::string s) : s_(std::move(s)), has_(true) {}              // NOLINT
  OptionalString(const char* s) : s_(s), has_(true) {}                         // NOLINT
  OptionalString(absl::string_view s) : s_(s.data(), s.size()), has_(true) {}  // NOLINT
  OptionalString(const std::optional<std::string>& o) : has_(o.has_value()) {  // NOLINT
    if (o) s_ = *o;
  }
  OptionalString(const OptionalString& o) : has_(o.has_) {
    if (o.has_) s_ = o.s_;
  }
  OptionalString(OptionalString&& o) noexcept : s_(std::move(o.s_)), has_(o.has_) {
    o.has_ = false;
  }
  OptionalString& operator=(const OptionalString& o) {
    if (this == &o) return *this;
    if (!o.has_) return *this = std::nullopt;
    s_.assign(o.s_);
    has_ = true;
    return *this;
  }
  OptionalString& operator=(OptionalString&& o) noexcept {
    if (this == &o) return *this;
    if (!o.has_) return *this = std::nullopt;
    s_.swap(o.s_);  // the other keeps this one's buffer
    has_ = true;
    o.reset();
    return *this;
  }
  OptionalString& operator=(std::nullopt_t) {
    reset();
    return *this;
  }
  OptionalString& operator=(absl::string_view v) {
    emplace(v);
    return *this;
  }
  OptionalString& operator=(const std::string& v) { return *this = absl::string_view(v); }
  OptionalString& operator=(const char* v) { return *this = absl::string_view(v); }
  OptionalString& operator=(const std::optional<std::string>& o) {
    if (!o) return *this = std::nullopt;
    return *this = absl::string_view(*o);
  }

  bool has_value() const { return has_; }
  explicit operator bool() const { return has_; }
  const std::string& operator*() const { return s_; }
  std::string& operator*() { return s_; }
  const std::string* operator->() const { return &s_; }
  std::string* operator->() { return &s_; }
  const std::string& value() const { return s_; }
  std::string value_or(absl::string_view d) const {
    return has_ ? s_ : std::string(d.data(), d.size());
  }
  explicit operator std::optional<std::string>() const {
    return has_ ? std::optional<std::string>(s_) : std::nullopt;
  }

  std::string& emplace(const char* p, size_t n) {
    s_.assign(p, n);
    has_ = true;
    return s_;
  }
  std::string& emplace(absl::string_view v) { return emplace(v.data(), v.size()); }
  void reset() {
    s_.clear();  // the buffer stays
    has_ = false;
  }
  // The buffer, taken out (this one left empty, with none), and given back
  // to an empty one: how an object that is rebuilt whole keeps its buffers.
  std::string TakeBuffer() {
    has_ = false;
    return std::move(s_);
  }
  void AdoptBuffer(std::string&& buffer) {
    s_ = std::move(buffer);
    s_.clear();
    has_ = false;
  }

  friend bool operator==(const OptionalString& a, const OptionalString& b) {
    return a.has_ == b.has_ && (!a.has_ || a.s_ == b.s_);
  }
  friend bool operator==(const OptionalString& a, absl::string_view b) {
    return a.has_ && a.s_ == b;
  }
  friend bool operator==(const OptionalString& a, const char* b) {
    return a == absl::string_view(b);
  }
  friend bool operator==(const OptionalString& a, std::nullopt_t) { return !a.has_; }

 private:
  std::string s_;
  bool has_ = false;
};

}  // namespace permsentry

#endif  // PERMSENTRY_COMMON_KEPT_H_
