// A streaming JSON writer specialised for event lines: it appends to one
// std::string, keeps commas with a bit per nesting level, and copies a string
// that needs no escaping (nearly all of them: paths, names, keys) in one
// append after a table scan, instead of byte by byte. Escapes as RapidJSON's
// writer does (\", \\, \b \f \n \r \t, \u00XX for other control bytes), and
// also U+2028 and U+2029, which some JSON-lines readers take for line ends.
// Input must be UTF-8 (EscapeBytes makes it so); no validation is done here.
#ifndef PERMSENTRY_RENDER_JSON_WRITER_H_
#define PERMSENTRY_RENDER_JSON_WRITER_H_

#include <algorithm>
#include <charconv>
#include <cstdint>
#include <cstring>
#include <string>

#include "absl/strings/string_view.h"

// The writer's small methods are forced inline: called with a literal key,
// the key's length is a constant and the copy folds to a few stores.
#define PS_JSON_INLINE inline __attribute__((always_inline))

namespace permsentry {

// memcpy for the short strings a line is made of (names, numbers, words),
// inline: two overlapping loads and stores instead of a library call.
PS_JSON_INLINE void CopyShort(char* dst, const char* src, size_t n) {
  if (n >= 8 && n <= 16) {
    uint64_t a, b;
    std::memcpy(&a, src, 8);
    std::memcpy(&b, src + n - 8, 8);
    std::memcpy(dst, &a, 8);
    std::memcpy(dst + n - 8, &b, 8);
  } else if (n >= 4 && n < 8) {
    uint32_t a, b;
    std::memcpy(&a, src, 4);
    std::memcpy(&b, src + n - 4, 4);
    std::memcpy(dst, &a, 4);
    std::memcpy(dst + n - 4, &b, 4);
  } else if (n < 4) {
    for (size_t i = 0; i < n; ++i) dst[i] = src[i];
  } else {
    std::memcpy(dst, src, n);
  }
}

class JsonWriter {
 public:
  // Writes into *out from `start`: the bytes from there on are scratch space,
  // kept at their size between uses (no clearing, no zeroing per line); view()
  // is the text written. Bytes before `start` are left as they are (a line
  // rendered straight onto the end of an output buffer).
  explicit JsonWriter(std::string* out, size_t start = 0) : out_(out), start_(start) {
    if (out->size() < start + 256) out->resize(start + 256);
    cur_ = out->data() + start;
    end_ = out->data() + out->size();
  }
  absl::string_view view() const {
    const char* begin = out_->data() + start_;
    return absl::string_view(begin, static_cast<size_t>(cur_ - begin));
  }
  // Ends the text with a newline; the line, newline included.
  absl::string_view Line() {
    char* p = Room(1);
    *p++ = '\n';
    Advance(p);
    return view();
  }
  JsonWriter(const JsonWriter&) = delete;
  JsonWriter& operator=(const JsonWriter&) = delete;

  PS_JSON_INLINE void StartObject() { Open('{'); }
  PS_JSON_INLINE void EndObject() { Close('}'); }
  PS_JSON_INLINE void StartArray() { Open('['); }
  PS_JSON_INLINE void EndArray() { Close(']'); }
  // A member name. Names are the program's own ASCII identifiers: copied
  // without an escaping pass.
  PS_JSON_INLINE void Key(absl::string_view k) {
    Advance(MemberKey(Room(k.size() + 4), k));
    comma_ = false;  // the value follows its key directly
  }
  // A whole member in one reservation: "k":"v" for a value with nothing to
  // escape (see CleanString), "k":"123" (NumberString), "k":123, "k":true.
  PS_JSON_INLINE void CleanMember(absl::string_view k, absl::string_view v) {
    char* p = MemberKey(Room(k.size() + v.size() + 6), k);
    *p++ = '"';
    CopyShort(p, v.data(), v.size());
    p += v.size();
    *p++ = '"';
    Advance(p);
  }
  PS_JSON_INLINE void NumberStringMember(absl::string_view k, uint64_t v) {
    char* p = MemberKey(Room(k.size() + 28), k);
    *p++ = '"';
    p = std::to_chars(p, p + 21, v).ptr;
    *p++ = '"';
    Advance(p);
  }
  template <typename T>
  PS_JSON_INLINE void NumberMember(absl::string_view k, T v) {
    char* p = MemberKey(Room(k.size() + 28), k);
    Advance(std::to_chars(p, p + 22, v).ptr);
  }
  // "k":"0a1b..": bytes as lowercase hex, written in place.
  void HexMember(absl::string_view k, absl::string_view bytes);
  PS_JSON_INLINE void BoolMember(absl::string_view k, bool v) {
    CopyMember(k, v ? absl::string_view("true") : absl::string_view("false"));
  }
  PS_JSON_INLINE void String(absl::string_view v) {
    Advance(Separator(Room(1)));
    Quoted(v);
  }
  // A string the program made itself (a literal, a name from a table, a
  // formatted number or time): copied without the escaping pass.
  PS_JSON_INLINE void CleanString(absl::string_view v) {
    char* p = Separator(Room(v.size() + 3));
    *p++ = '"';
    CopyShort(p, v.data(), v.size());
    p += v.size();
    *p++ = '"';
    Advance(p);
  }
  // A number as a JSON string ("1000": ECS keeps ids as keywords).
  PS_JSON_INLINE void NumberString(uint64_t v) {
    char* p = Separator(Room(24));
    *p++ = '"';
    p = std::to_chars(p, p + 21, v).ptr;
    *p++ = '"';
    Advance(p);
  }
  PS_JSON_INLINE void Uint64(uint64_t v) { Number(v); }
  PS_JSON_INLINE void Int64(int64_t v) { Number(v); }
  PS_JSON_INLINE void Uint(unsigned v) { Number(uint64_t{v}); }
  PS_JSON_INLINE void Int(int v) { Number(int64_t{v}); }
  PS_JSON_INLINE void Bool(bool v) {
    Raw(v ? absl::string_view("true") : absl::string_view("false"));
  }
  // Text that is already one JSON value (rendered by a JsonWriter).
  void RawValue(absl::string_view json) { Raw(json); }
  // A value this writer wrote earlier, at [from, from + len) of view(), again.
  PS_JSON_INLINE void RepeatValue(size_t from, size_t len) {
    char* p = Separator(Room(len + 1));  // may move the text: the source is found after
    std::memcpy(p, out_->data() + start_ + from, len);
    Advance(p + len);
  }
  // Text that is already members of an object ("a":1,"b":2, rendered by a
  // JsonWriter with no StartObject), placed among this object's members.
  void RawMembers(absl::string_view json) { Raw(json); }

 private:
  // At least n writable bytes at the end; returns where writing goes.
  PS_JSON_INLINE char* Room(size_t n) {
    if (static_cast<size_t>(end_ - cur_) < n + 1) [[unlikely]]
      Grow(n);
    return cur_;
  }
  void Grow(size_t n);
  // Separator, then "k": (room for it reserved).
  PS_JSON_INLINE char* MemberKey(char* p, absl::string_view k) {
    p = Separator(p);
    *p++ = '"';
    CopyShort(p, k.data(), k.size());
    p += k.size();
    *p++ = '"';
    *p++ = ':';
    return p;
  }
  PS_JSON_INLINE void CopyMember(absl::string_view k, absl::string_view raw) {
    char* p = MemberKey(Room(k.size() + raw.size() + 4), k);
    CopyShort(p, raw.data(), raw.size());
    Advance(p + raw.size());
  }
  PS_JSON_INLINE void Advance(char* p) { cur_ = p; }
  // A comma before every element but a container's first, none after a key.
  // One flag is state enough: a container's first element follows its
  // opening, a value follows its key, anything else follows an element (a
  // closed container is one). Written without a branch: the comma is stored
  // always and kept or overwritten.
  PS_JSON_INLINE char* Separator(char* p) {
    *p = ',';
    p += comma_;
    comma_ = true;
    return p;
  }
  PS_JSON_INLINE void Open(char c) {
    char* p = Separator(Room(2));
    *p++ = c;
    Advance(p);
    comma_ = false;
  }
  PS_JSON_INLINE void Close(char c) {
    char* p = Room(1);
    *p++ = c;
    Advance(p);
    comma_ = true;
  }
  PS_JSON_INLINE void Raw(absl::string_view v) {
    char* p = Separator(Room(v.size() + 1));
    std::memcpy(p, v.data(), v.size());
    Advance(p + v.size());
  }
  template <typename T>
  PS_JSON_INLINE void Number(T v) {
    char* p = Separator(Room(24));
    Advance(std::to_chars(p, p + 22, v).ptr);
  }
  void Quoted(absl::string_view s);

  std::string* out_;
  size_t start_ = 0;     // where this writer's text begins in *out_
  char* cur_ = nullptr;  // the end of the text in *out_
  char* end_ = nullptr;  // the end of *out_: [cur_, end_) is room
  bool comma_ = false;   // the next element needs a comma before it
};

}  // namespace permsentry

#endif  // PERMSENTRY_RENDER_JSON_WRITER_H_
