// Globs for rules and tail filters: paths ("/etc/**", "/home/*/.ssh/*") and
// names ("python3*", "security.*").
//
//   *    any run of bytes without '/'
//   **   a whole component: any run of bytes, '/' included ("/etc/**" also
//        matches "/etc" itself; "/a/**/b" matches "/a/b" and "/a/x/y/b")
//   ?    one byte other than '/'
//   [..] one byte of a class: "[abc]", "[a-z]", "[!0-9]" (or "[^0-9]")
//   \c   c itself
//
// Matching is a state-set simulation, linear in the subject's length whatever
// the pattern: file names are chosen by whoever makes the change, so a
// backtracking matcher could be made to spin.
#ifndef PERMSENTRY_RULES_GLOB_H_
#define PERMSENTRY_RULES_GLOB_H_

#include <bitset>
#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace permsentry {

class Glob {
 public:
  enum class Kind {
    kPath,  // absolute: must start with '/'
    kName,  // anything (a process name, an xattr name, an executable path)
  };
  static constexpr size_t kMaxTokens = 255;

  static absl::StatusOr<Glob> Compile(absl::string_view pattern, Kind kind);
  bool Matches(absl::string_view subject) const;
  const std::string& pattern() const { return pattern_; }

 private:
  // "**/" is two states: at a component boundary (it may end here), and inside
  // a component (it may not: "/a/**/b" must not match "/a/xb").
  enum class Op : uint8_t { kByte, kAny, kClass, kStar, kDoubleStar, kDirsAtBoundary, kDirsInside };
  struct Token {
    Op op = Op::kByte;
    uint8_t byte = 0;
    bool negate = false;
    std::bitset<256> set;  // kClass
  };
  using States = std::bitset<kMaxTokens + 1>;
  void Close(States& s) const;  // add the states reachable without a byte

  std::string pattern_;
  std::vector<Token> tokens_;
  // "/etc/**" also matches "/etc": the pattern without its trailing "/**".
  std::string bare_dir_;
  bool has_bare_dir_ = false;
  bool literal_ = false;  // no wildcard at all: compared as a string
  std::string prefix_;    // the bytes before the first wildcard: a cheap first test
  // Most rule globs are a prefix and then one "**" ("/etc/**") or one "*"
  // ("python3*"): matched by the prefix and a look at the rest, no simulation.
  enum class Tail : uint8_t { kGeneral, kAnything, kNoSlash };
  Tail tail_ = Tail::kGeneral;
};

}  // namespace permsentry

#endif  // PERMSENTRY_RULES_GLOB_H_
