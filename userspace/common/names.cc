#include "common/names.h"

#include <grp.h>
#include <pwd.h>
#include <string.h>
#include <sys/utsname.h>

#include <algorithm>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/time/clock.h"

namespace permsentry {
namespace {

// Length of the valid UTF-8 sequence at s[i], or 0 when the byte there does not
// start one (overlongs, surrogates and code points above U+10FFFF are invalid).
size_t Utf8SequenceLength(absl::string_view s, size_t i) {
  const auto b = [&](size_t k) { return static_cast<unsigned char>(s[i + k]); };
  const unsigned char c = b(0);
  const size_t left = s.size() - i;
  if (c < 0x80) return 1;
  if (c >= 0xc2 && c <= 0xdf) return left >= 2 && (b(1) & 0xc0) == 0x80 ? 2 : 0;
  if (c >= 0xe0 && c <= 0xef) {
    if (left < 3 || (b(1) & 0xc0) != 0x80 || (b(2) & 0xc0) != 0x80) return 0;
    if (c == 0xe0 && b(1) < 0xa0) return 0;   // overlong
    if (c == 0xed && b(1) >= 0xa0) return 0;  // UTF-16 surrogate
    return 3;
  }
  if (c >= 0xf0 && c <= 0xf4) {
    if (left < 4 || (b(1) & 0xc0) != 0x80 || (b(2) & 0xc0) != 0x80 || (b(3) & 0xc0) != 0x80)
      return 0;
    if (c == 0xf0 && b(1) < 0x90) return 0;   // overlong
    if (c == 0xf4 && b(1) >= 0x90) return 0;  // above U+10FFFF
    return 4;
  }
  return 0;
}

bool IsValidUtf8(absl::string_view s) {
  for (size_t i = 0; i < s.size();) {
    const size_t n = Utf8SequenceLength(s, i);
    if (n == 0) return false;
    i += n;
  }
  return true;
}

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

}  // namespace

std::string ErrnoName(int err) {
  if (const char* name = strerrorname_np(err)) return name;
  return absl::StrFormat("E%d", err);
}

std::string Hostname() {
  utsname u{};
  if (uname(&u) != 0) return "";
  return u.nodename;
}

EscapedBytes EscapeBytes(absl::string_view bytes) {
  if (IsAscii(bytes) || IsValidUtf8(bytes)) return {std::string(bytes), false};
  EscapedBytes out{.text = {}, .escaped = true};
  out.text.reserve(bytes.size() + 16);
  for (size_t i = 0; i < bytes.size();) {
    const size_t n = Utf8SequenceLength(bytes, i);
    if (n == 0) {
      out.text += absl::StrFormat("\\x%02x", static_cast<unsigned char>(bytes[i]));
      ++i;
    } else if (bytes[i] == '\\') {
      out.text += "\\\\";
      ++i;
    } else {
      out.text.append(bytes.data() + i, n);
      i += n;
    }
  }
  return out;
}

std::string JsonOut(absl::string_view json) {
  // Nearly every line has no such character: one copy, no byte-by-byte pass.
  size_t i = json.find('\xe2');
  if (i == absl::string_view::npos) return std::string(json);
  std::string out(json.substr(0, i));
  out.reserve(json.size() + 8);
  for (; i < json.size(); ++i) {
    if (json[i] == '\xe2' && i + 2 < json.size() && json[i + 1] == '\x80' &&
        (json[i + 2] == '\xa8' || json[i + 2] == '\xa9')) {
      out += json[i + 2] == '\xa8' ? "\\u2028" : "\\u2029";
      i += 2;
      continue;
    }
    out += json[i];
  }
  return out;
}

std::string UnescapeBytes(absl::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '\\' && i + 1 < text.size()) {
      if (text[i + 1] == '\\') {
        out += '\\';
        ++i;
        continue;
      }
      if (text[i + 1] == 'x' && i + 3 < text.size()) {
        const int hi = HexValue(text[i + 2]), lo = HexValue(text[i + 3]);
        if (hi >= 0 && lo >= 0) {
          out += static_cast<char>(hi * 16 + lo);
          i += 3;
          continue;
        }
      }
    }
    out += text[i];
  }
  return out;
}

std::string EscapeForText(absl::string_view bytes) {
  std::string out;
  AppendForText(&out, bytes);
  return out;
}

void AppendForText(std::string* out_ptr, absl::string_view bytes) {
  // Most names are printable ASCII with nothing to escape: one copy.
  if (IsPlainText(bytes)) {
    out_ptr->append(bytes.data(), bytes.size());
    return;
  }
  std::string& out = *out_ptr;
  out.reserve(out.size() + bytes.size());
  for (size_t i = 0; i < bytes.size();) {
    const unsigned char c = static_cast<unsigned char>(bytes[i]);
    const size_t n = Utf8SequenceLength(bytes, i);
    if (n > 1) {
      out.append(bytes.data() + i, n);
      i += n;
      continue;
    }
    ++i;
    switch (c) {
      case '\\':
        out += "\\\\";
        break;
      case '"':
        out += "\\\"";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\t':
        out += "\\t";
        break;
      case '\r':
        out += "\\r";
        break;
      default:
        if (c < 0x20 || c >= 0x7f) {
          out += absl::StrFormat("\\x%02x", c);
        } else {
          out += static_cast<char>(c);
        }
    }
  }
}

namespace {

constexpr int64_t kNameTtlNs = 60'000'000'000;

// The cache entry for `id`, re-resolved with `lookup` once it expired.
template <typename Entry, typename Lookup>
Entry& Fresh(absl::flat_hash_map<uint32_t, Entry>& cache, uint32_t id, Lookup lookup) {
  const int64_t now = absl::GetCurrentTimeNanos();
  Entry& e = cache[id];
  if (now >= e.expires_ns) {
    e.name = lookup(id);
    e.label.clear();
    e.expires_ns = now + kNameTtlNs;
  }
  return e;
}

std::optional<std::string> LookupUser(uint32_t id) {
  passwd pw{}, *res = nullptr;
  std::vector<char> buf(4096);
  if (getpwuid_r(id, &pw, buf.data(), buf.size(), &res) != 0 || res == nullptr) return std::nullopt;
  return std::string(pw.pw_name);
}

std::optional<std::string> LookupGroup(uint32_t id) {
  group gr{}, *res = nullptr;
  std::vector<char> buf(4096);
  if (getgrgid_r(id, &gr, buf.data(), buf.size(), &res) != 0 || res == nullptr) return std::nullopt;
  return std::string(gr.gr_name);
}

template <typename Entry>
const std::string& Label(Entry& e, uint32_t id, absl::string_view unnamed) {
  if (e.label.empty())
    e.label = e.name ? absl::StrCat(*e.name, " (", id, ")") : absl::StrCat(unnamed, id);
  return e.label;
}

}  // namespace

std::optional<std::string> NameCache::UserName(uint32_t uid) {
  return Fresh(users_, uid, LookupUser).name;
}

std::optional<std::string> NameCache::GroupName(uint32_t gid) {
  return Fresh(groups_, gid, LookupGroup).name;
}

std::string NameCache::UserLabel(uint32_t uid) {
  return Label(Fresh(users_, uid, LookupUser), uid, "uid ");
}

std::string NameCache::GroupLabel(uint32_t gid) {
  return Label(Fresh(groups_, gid, LookupGroup), gid, "gid ");
}

}  // namespace permsentry
