// A list of short texts that keeps its entries' buffers when cleared: built
// anew for every event (an access delta), it stops allocating once a few
// events have gone by. Reads like a const vector of strings.
#ifndef PERMSENTRY_COMMON_TEXT_LIST_H_
#define PERMSENTRY_COMMON_TEXT_LIST_H_

#include <cstddef>
#include <string>
#include <vector>

#include "absl/strings/string_view.h"
#include "absl/types/span.h"

namespace permsentry {

class TextList {
 public:
  using value_type = std::string;
  using const_iterator = const std::string*;
  using iterator = const_iterator;

  TextList() = default;
  TextList(std::initializer_list<absl::string_view> texts) {
    for (absl::string_view t : texts) push_back(t);
  }

  // A new entry, empty, to be written.
  std::string& Add() {
    if (used_ == texts_.size()) texts_.emplace_back();
    std::string& s = texts_[used_++];
    s.clear();
    return s;
  }
  std::string& Add(absl::string_view text) { return Add().assign(text.data(), text.size()); }
  void push_back(absl::string_view text) { Add(text); }
  void clear() { used_ = 0; }

  size_t size() const { return used_; }
  bool empty() const { return used_ == 0; }
  const std::string& operator[](size_t i) const { return texts_[i]; }
  const std::string* begin() const { return texts_.data(); }
  const std::string* end() const { return texts_.data() + used_; }
  operator absl::Span<const std::string>() const { return {texts_.data(), used_}; }
  std::vector<std::string> ToVector() const { return {begin(), end()}; }

 private:
  std::vector<std::string> texts_;  // [0, used_) in use; the rest keep their buffers
  size_t used_ = 0;
};

}  // namespace permsentry

#endif  // PERMSENTRY_COMMON_TEXT_LIST_H_
