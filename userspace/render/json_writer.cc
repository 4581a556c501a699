#include "render/json_writer.h"

#include <algorithm>
#include <array>
#include <cstring>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

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

}  // namespace

void JsonWriter::Grow(size_t n) {
  const size_t used = static_cast<size_t>(cur_ - out_->data());
  // Room for this value and the rest of a line, not double: the string's
  // capacity grows geometrically by itself, and bytes made part of its size
  // are written (zeroed) and stay resident.
  out_->resize(used + n + (4u << 10));
  cur_ = out_->data() + used;
  end_ = out_->data() + out_->size();
}

void JsonWriter::HexMember(absl::string_view k, absl::string_view bytes) {
  static constexpr char kDigits[] = "0123456789abcdef";
  char* p = MemberKey(Room(k.size() + bytes.size() * 2 + 6), k);
  *p++ = '"';
  for (const char c : bytes) {
    const auto b = static_cast<unsigned char>(c);
    *p++ = kDigits[b >> 4];
    *p++ = kDigits[b & 15];
  }
  *p++ = '"';
  Advance(p);
}

void JsonWriter::Quoted(absl::string_view s) {
  // Worst case 6 bytes out per byte in (\u00XX), the two quotes, and 16 for
  // the block loop, which stores whole blocks and advances by what was real.
  char* o = Room(s.size() * 6 + 2 + 16);
  *o++ = '"';
  const auto* p = reinterpret_cast<const unsigned char*>(s.data());
  const size_t n = s.size();
  size_t i = 0;
  while (i < n) {
#if defined(__SSE2__)
    {
      // Sixteen bytes at a time, copied as they are scanned: most strings
      // have no byte to escape. The last block is read from a padded copy.
      const size_t left = n - i;
      __m128i v;
      if (left >= 16) {
        v = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p + i));
      } else {
        alignas(16) unsigned char pad[16];
        std::memset(pad, 'a', sizeof(pad));
        CopyShort(reinterpret_cast<char*>(pad), reinterpret_cast<const char*>(p + i), left);
        v = _mm_load_si128(reinterpret_cast<const __m128i*>(pad));
      }
      _mm_storeu_si128(reinterpret_cast<__m128i*>(o), v);
      const __m128i c1f = _mm_set1_epi8(0x1f);
      const __m128i special =
          _mm_or_si128(_mm_or_si128(_mm_cmpeq_epi8(v, _mm_set1_epi8('"')),
                                    _mm_cmpeq_epi8(v, _mm_set1_epi8('\\'))),
                       _mm_or_si128(_mm_cmpeq_epi8(v, _mm_set1_epi8(static_cast<char>(0xe2))),
                                    _mm_cmpeq_epi8(_mm_max_epu8(v, c1f), c1f)));
      const unsigned mask = static_cast<unsigned>(_mm_movemask_epi8(special));
      const size_t k = mask == 0 ? 16 : static_cast<size_t>(__builtin_ctz(mask));
      if (k >= left) {
        o += left;
        break;
      }
      i += k;
      o += k;
      if (k == 16) continue;
    }
#else
    if (kEscape[p[i]] == 0) {
      *o++ = static_cast<char>(p[i++]);
      continue;
    }
#endif
    // p[i] needs a look.
    const char e = kEscape[p[i]];
    if (e == 'L') {
      // U+2028 / U+2029 (E2 80 A8 / E2 80 A9): valid JSON, but line ends to
      // JavaScript-era readers. Any other sequence with E2 is copied.
      if (i + 2 < n && p[i + 1] == 0x80 && (p[i + 2] == 0xa8 || p[i + 2] == 0xa9)) {
        std::memcpy(o, p[i + 2] == 0xa8 ? "\\u2028" : "\\u2029", 6);
        o += 6;
        i += 3;
      } else {
        *o++ = static_cast<char>(p[i++]);
      }
      continue;
    }
    *o++ = '\\';
    *o++ = e;
    if (e == 'u') {
      static constexpr char kHex[] = "0123456789ABCDEF";
      *o++ = '0';
      *o++ = '0';
      *o++ = kHex[p[i] >> 4];
      *o++ = kHex[p[i] & 15];
    }
    ++i;
  }
  *o++ = '"';
  Advance(o);
}

}  // namespace permsentry
