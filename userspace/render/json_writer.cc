#include "render/json_writer.h"

#include <algorithm>
#include <array>
#include <cstring>

namespace permsentry {
namespace {

// 0: copied as it is; else the escape's second character ('u': \u00XX);
// 0xe2 is marked to look for U+2028/U+2029.
constexpr std::array<char, 256> MakeEscapes() {
  std::array<char, 256> t{};
  for (int c = 0; c < 0x20; ++c) t[c] = 'u';
  t['\b'] = 'b';
  t['\f'] = 'f';
  t['\n'] = 'n';
  t['\r'] = 'r';
  t['\t'] = 't';
  t['"'] = '"';
  t['\\'] = '\\';
  t[0xe2] = 'L';
  return t;
}
constexpr std::array<char, 256> kEscape = MakeEscapes();

// Whether any of the 8 bytes in `w` may need a look: a control byte, '"',
// '\\' or 0xe2 (false positives are possible, misses are not).
inline bool MayEscape(uint64_t w) {
  constexpr uint64_t kOnes = 0x0101010101010101ULL, kHigh = 0x8080808080808080ULL;
  const auto zero_byte = [](uint64_t v) { return (v - kOnes) & ~v & kHigh; };
  return (((w - 0x2020202020202020ULL) & ~w & kHigh) | zero_byte(w ^ 0x2222222222222222ULL) |
          zero_byte(w ^ 0x5c5c5c5c5c5c5c5cULL) | zero_byte(w ^ 0xe2e2e2e2e2e2e2e2ULL)) != 0;
}

}  // namespace

void JsonWriter::Grow(size_t n) { out_->resize(std::max(out_->size() * 2, used_ + n + 64)); }

void JsonWriter::Quoted(absl::string_view s) {
  // Worst case 6 bytes out per byte in (\u00XX), and the two quotes.
  char* o = Room(s.size() * 6 + 2);
  *o++ = '"';
  const auto* p = reinterpret_cast<const unsigned char*>(s.data());
  const size_t n = s.size();
  size_t clean = 0;  // start of the run not yet copied
  const auto flush = [&](size_t upto) {
    CopyShort(o, s.data() + clean, upto - clean);
    o += upto - clean;
  };
  for (size_t i = 0; i < n; ++i) {
    // Eight clean bytes at a time: most strings have no byte to escape.
    while (i + 8 <= n) {
      uint64_t w;
      std::memcpy(&w, p + i, 8);
      if (MayEscape(w)) break;
      i += 8;
    }
    if (i >= n) break;
    const char e = kEscape[p[i]];
    if (e == 0) continue;
    if (e == 'L') {
      // U+2028 / U+2029 (E2 80 A8 / E2 80 A9): valid JSON, but line ends to
      // JavaScript-era readers.
      if (i + 2 < n && p[i + 1] == 0x80 && (p[i + 2] == 0xa8 || p[i + 2] == 0xa9)) {
        flush(i);
        std::memcpy(o, p[i + 2] == 0xa8 ? "\\u2028" : "\\u2029", 6);
        o += 6;
        i += 2;
        clean = i + 1;
      }
      continue;
    }
    flush(i);
    *o++ = '\\';
    *o++ = e;
    if (e == 'u') {
      static constexpr char kHex[] = "0123456789ABCDEF";
      *o++ = '0';
      *o++ = '0';
      *o++ = kHex[p[i] >> 4];
      *o++ = kHex[p[i] & 15];
    }
    clean = i + 1;
  }
  flush(n);
  *o++ = '"';
  Advance(o);
}

}  // namespace permsentry
