// Small lookups shared by renderers: user/group names, errno names, and the byte
// escaping that keeps every event on exactly one line.
#ifndef PERMSENTRY_COMMON_NAMES_H_
#define PERMSENTRY_COMMON_NAMES_H_

#include <cstdint>
#include <cstring>
#include <optional>
#include <string>
#if defined(__SSE2__)
#include <emmintrin.h>
#endif

#include "absl/strings/string_view.h"

#include "absl/container/flat_hash_map.h"

namespace permsentry {

// "ENOENT" for 2; "E123" for numbers the C library does not name.
std::string ErrnoName(int err);

// The host's name (uname nodename).
std::string Hostname();

// File names are bytes, not text. Valid UTF-8 passes through unchanged (the JSON
// writer escapes control characters such as newline). When the bytes are not
// valid UTF-8, each invalid byte becomes the four characters \xNN and each
// backslash becomes \\, and `escaped` is set, so the original bytes can always be
// recovered and a reader knows to unescape.
struct EscapedBytes {
  std::string text;
  bool escaped = false;
};
EscapedBytes EscapeBytes(absl::string_view bytes);

// The bytes of `s` in 16-byte blocks, the last one overlapping the one before
// (or, for a string shorter than 16, padded with `pad`): for the checks below,
// which must not read past the string and do not care what is seen twice.
#define PS_NAMES_INLINE inline __attribute__((always_inline))

#if defined(__SSE2__)
template <typename BlockOk>
PS_NAMES_INLINE bool EveryBlock(absl::string_view s, char pad, BlockOk ok) {
  const char* p = s.data();
  const size_t n = s.size();
  if (n < 16) {
    alignas(16) char b[16];
    std::memset(b, pad, sizeof(b));
    // Inline copies (two overlapping words) rather than a call for a few bytes.
    if (n >= 8) {
      std::memcpy(b, p, 8);
      std::memcpy(b + n - 8, p + n - 8, 8);
    } else if (n >= 4) {
      std::memcpy(b, p, 4);
      std::memcpy(b + n - 4, p + n - 4, 4);
    } else {
      for (size_t i = 0; i < n; ++i) b[i] = p[i];
    }
    return ok(_mm_load_si128(reinterpret_cast<const __m128i*>(b)));
  }
  for (size_t i = 0; i + 16 <= n; i += 16)
    if (!ok(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p + i)))) return false;
  return ok(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p + n - 16)));
}
#endif

// Whether every byte is ASCII (below 0x80): such bytes are valid UTF-8, and
// EscapeBytes would return them unchanged. Sixteen bytes at a time: nearly
// every name and path the sensor renders is ASCII.
inline bool IsAscii(absl::string_view s) {
#if defined(__SSE2__)
  return EveryBlock(s, 'a', [](__m128i v) { return _mm_movemask_epi8(v) == 0; });
#else
  const char* p = s.data();
  size_t n = s.size();
  uint64_t any = 0;
  for (; n >= 8; p += 8, n -= 8) {
    uint64_t w;
    std::memcpy(&w, p, 8);
    any |= w;
  }
  for (; n > 0; ++p, --n) any |= static_cast<unsigned char>(*p);
  return (any & 0x8080808080808080ULL) == 0;
#endif
}

// Whether EscapeForText leaves `s` as it is: printable ASCII, no backslash, no
// double quote.
inline bool IsPlainText(absl::string_view s) {
#if defined(__SSE2__)
  return EveryBlock(s, 'a', [](__m128i v) {
    // Signed bytes: 0x80 and above are negative, so one range test is
    // 0x20..0x7e; then neither '"' nor '\\'.
    const __m128i printable = _mm_and_si128(_mm_cmpgt_epi8(v, _mm_set1_epi8(0x1f)),
                                            _mm_cmplt_epi8(v, _mm_set1_epi8(0x7f)));
    const __m128i special =
        _mm_or_si128(_mm_cmpeq_epi8(v, _mm_set1_epi8('"')), _mm_cmpeq_epi8(v, _mm_set1_epi8('\\')));
    return _mm_movemask_epi8(_mm_andnot_si128(special, printable)) == 0xffff;
  });
#else
  constexpr uint64_t kOnes = 0x0101010101010101ULL, kHigh = 0x8080808080808080ULL;
  const auto zero_byte = [](uint64_t v) { return (v - kOnes) & ~v & kHigh; };
  const auto bad = [&](uint64_t w) {
    return ((w - 0x2020202020202020ULL) & ~w & kHigh) |   // below 0x20
           (((w + 0x0101010101010101ULL) | w) & kHigh) |  // 0x7f and above
           zero_byte(w ^ 0x2222222222222222ULL) | zero_byte(w ^ 0x5c5c5c5c5c5c5c5cULL);
  };
  const char* p = s.data();
  size_t n = s.size();
  for (; n >= 8; p += 8, n -= 8) {
    uint64_t w;
    std::memcpy(&w, p, 8);
    if (bad(w)) return false;
  }
  if (n == 0) return true;
  uint64_t w = 0x6161616161616161ULL;  // 'a': plain padding
  std::memcpy(&w, p, n);
  return bad(w) == 0;
#endif
}

// EscapeForText(bytes), appended to *out.
void AppendForText(std::string* out, absl::string_view bytes);

// JSON text as it goes out, one record per line: U+2028 and U+2029 are valid
// inside a JSON string, but JavaScript (and some log shippers) read them as
// line breaks, so they are written as \u2028 and \u2029. Only strings can
// hold them: JSON's own syntax is ASCII.
std::string JsonOut(absl::string_view json);

// Inverse of EscapeBytes for escaped text (used by tests and consumers).
std::string UnescapeBytes(absl::string_view text);

// For the human text format: printable ASCII and valid UTF-8 as is, everything
// else (newline, tab, escape, invalid bytes) as C-style escapes; backslash and
// double quote are escaped so a quoted field stays one token.
std::string EscapeForText(absl::string_view bytes);

// Caches uid → user name and gid → group name (NSS lookups are slow, ids repeat).
// Entries expire after a minute, so users added or renamed while the sensor runs
// are named correctly soon after. Not thread-safe: one per consumer thread.
class NameCache {
 public:
  std::optional<std::string> UserName(uint32_t uid);
  std::optional<std::string> GroupName(uint32_t gid);
  // "alice (1000)", or "uid 1000" without a name (and "gid N"): how an access
  // delta names an owner or group, kept with the name.
  std::string UserLabel(uint32_t uid);
  std::string GroupLabel(uint32_t gid);

 private:
  struct Entry {
    std::optional<std::string> name;
    std::string label;  // made on first use after each lookup
    int64_t expires_ns = 0;
  };
  absl::flat_hash_map<uint32_t, Entry> users_;
  absl::flat_hash_map<uint32_t, Entry> groups_;
};

}  // namespace permsentry

#endif  // PERMSENTRY_COMMON_NAMES_H_
