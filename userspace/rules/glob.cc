#include "rules/glob.h"

#include "absl/status/status.h"
#include "absl/strings/match.h"
#include "absl/strings/str_format.h"

namespace permsentry {

absl::StatusOr<Glob> Glob::Compile(absl::string_view pattern, Kind kind) {
  const auto bad = [&](absl::string_view why) {
    return absl::InvalidArgumentError(absl::StrFormat("bad glob \"%s\": %s", pattern, why));
  };
  if (pattern.empty()) return bad("empty");
  if (pattern.find('\0') != absl::string_view::npos) return bad("contains NUL");
  if (kind == Kind::kPath && pattern[0] != '/')
    return bad("a path glob is absolute (starts with /)");
  Glob g;
  g.pattern_ = std::string(pattern);
  g.literal_ = true;
  for (size_t i = 0; i < pattern.size(); ++i) {
    const char c = pattern[i];
    Token t;
    if (c == '\\') {
      if (i + 1 == pattern.size()) return bad("ends with a lone backslash");
      t.op = Op::kByte;
      t.byte = static_cast<uint8_t>(pattern[++i]);
    } else if (c == '*') {
      g.literal_ = false;
      size_t n = 1;
      while (i + n < pattern.size() && pattern[i + n] == '*') ++n;
      if (n > 2) return bad("*** has no meaning (use * or **)");
      if (n == 1) {
        t.op = Op::kStar;
      } else {
        const bool starts = i == 0 || pattern[i - 1] == '/';
        const bool ends = i + 2 == pattern.size() || pattern[i + 2] == '/';
        if (!starts || !ends) return bad("** must be a whole path component (\"/a/**/b\")");
        if (i + 2 < pattern.size()) {
          // "**/": nothing, or whole components (anything ending in '/').
          t.op = Op::kDirsAtBoundary;
          g.tokens_.push_back(t);
          t.op = Op::kDirsInside;
          ++i;
        } else {
          t.op = Op::kDoubleStar;
        }
        ++i;
      }
    } else if (c == '?') {
      g.literal_ = false;
      t.op = Op::kAny;
    } else if (c == '[') {
      g.literal_ = false;
      t.op = Op::kClass;
      size_t j = i + 1;
      if (j < pattern.size() && (pattern[j] == '!' || pattern[j] == '^')) {
        t.negate = true;
        ++j;
      }
      bool first = true, closed = false;
      for (; j < pattern.size(); ++j) {
        uint8_t lo = static_cast<uint8_t>(pattern[j]);
        if (lo == ']' && !first) {
          closed = true;
          break;
        }
        first = false;
        if (lo == '\\' && j + 1 < pattern.size()) lo = static_cast<uint8_t>(pattern[++j]);
        uint8_t hi = lo;
        if (j + 2 < pattern.size() && pattern[j + 1] == '-' && pattern[j + 2] != ']') {
          hi = static_cast<uint8_t>(pattern[j + 2]);
          j += 2;
          if (hi < lo) return bad("a range in [...] runs backwards");
        }
        for (unsigned b = lo; b <= hi; ++b) t.set.set(b);
      }
      if (!closed) return bad("[ without its ]");
      i = j;
    } else {
      t.op = Op::kByte;
      t.byte = static_cast<uint8_t>(c);
    }
    g.tokens_.push_back(t);
    if (g.tokens_.size() > kMaxTokens)
      return bad(absl::StrFormat("longer than %d elements", kMaxTokens));
  }
  if (!g.literal_ && g.tokens_.size() >= 2 && g.tokens_.back().op == Op::kDoubleStar &&
      g.pattern_.size() >= 3 && absl::EndsWith(g.pattern_, "/**")) {
    g.bare_dir_ = g.pattern_.substr(0, g.pattern_.size() - 3);
    if (g.bare_dir_.empty()) g.bare_dir_ = "/";
    g.has_bare_dir_ = g.bare_dir_.find_first_of("*?[\\") == std::string::npos;
  }
  for (const Token& t : g.tokens_) {
    if (t.op != Op::kByte) break;
    g.prefix_.push_back(static_cast<char>(t.byte));
  }
  if (!g.literal_ && g.prefix_.size() + 1 == g.tokens_.size()) {
    if (g.tokens_.back().op == Op::kDoubleStar) g.tail_ = Tail::kAnything;
    if (g.tokens_.back().op == Op::kStar) g.tail_ = Tail::kNoSlash;
  }
  if (g.literal_) {
    // Escapes resolved: the literal is the token bytes.
    std::string lit;
    for (const Token& t : g.tokens_) lit.push_back(static_cast<char>(t.byte));
    g.bare_dir_ = std::move(lit);
  }
  return g;
}

void Glob::Close(States& s) const {
  // A star may match nothing: its state implies the next. "**/" may stop at
  // a boundary: past its inside state.
  for (size_t i = 0; i < tokens_.size(); ++i) {
    if (!s.test(i)) continue;
    const Op op = tokens_[i].op;
    if (op == Op::kStar || op == Op::kDoubleStar) s.set(i + 1);
    if (op == Op::kDirsAtBoundary) s.set(i + 2);
  }
}

bool Glob::Matches(absl::string_view subject) const {
  if (literal_) return subject == bare_dir_;
  if (has_bare_dir_ && subject == bare_dir_) return true;
  if (!absl::StartsWith(subject, prefix_)) return false;
  if (tail_ == Tail::kAnything) return true;
  if (tail_ == Tail::kNoSlash) return subject.find('/', prefix_.size()) == absl::string_view::npos;
  const size_t n = tokens_.size();
  States cur, next;
  cur.set(0);
  Close(cur);
  for (const char ch : subject) {
    const uint8_t c = static_cast<uint8_t>(ch);
    next.reset();
    for (size_t i = 0; i < n; ++i) {
      if (!cur.test(i)) continue;
      const Token& t = tokens_[i];
      switch (t.op) {
        case Op::kByte:
          if (c == t.byte) next.set(i + 1);
          break;
        case Op::kAny:
          if (c != '/') next.set(i + 1);
          break;
        case Op::kClass:
          if (c != '/' && t.set.test(c) != t.negate) next.set(i + 1);
          break;
        case Op::kStar:
          if (c != '/') next.set(i);
          break;
        case Op::kDoubleStar:
          next.set(i);
          break;
        case Op::kDirsAtBoundary:
          next.set(c == '/' ? i : i + 1);
          break;
        case Op::kDirsInside:
          next.set(c == '/' ? i - 1 : i);
          break;
      }
    }
    if (next.none()) return false;
    Close(next);
    std::swap(cur, next);
  }
  return cur.test(n);
}

}  // namespace permsentry
