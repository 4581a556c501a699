// An optional whose value outlives being emptied: for objects rebuilt event
// after event in one place (the pipeline's current event), so the strings in
// them keep their buffers and an event costs no allocation once a few have
// gone by. Reads like std::optional; written through Reuse().
#ifndef PERMSENTRY_COMMON_KEPT_H_
#define PERMSENTRY_COMMON_KEPT_H_

#include <optional>
#include <utility>

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

  // Empty: the value stays, unseen, for the next Reuse().
  void reset() { has_ = false; }
  // Present again: the value as it was left, for the caller to overwrite.
  T& Reuse() {
    has_ = true;
    return value_;
  }

 private:
  T value_{};
  bool has_ = false;
};

}  // namespace permsentry

#endif  // PERMSENTRY_COMMON_KEPT_H_
