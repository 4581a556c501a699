#include "attribute/proc_fs.h"

#include <unistd.h>

#include <climits>
#include <fstream>
#include <sstream>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"

namespace permsentry {
namespace {

constexpr size_t kMaxRead = 256 * 1024;  // environ and cmdline are bounded by this

std::optional<std::string> ReadAll(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return std::nullopt;
  std::string s(kMaxRead, '\0');
  in.read(s.data(), static_cast<std::streamsize>(s.size()));
  s.resize(static_cast<size_t>(in.gcount()));
  return s;
}

std::vector<std::string> SplitNul(const std::string& s) {
  std::vector<std::string> out;
  for (absl::string_view part : absl::StrSplit(s, '\0')) {
    if (!part.empty()) out.emplace_back(part);
  }
  return out;
}

uint32_t ReadU32File(const std::string& path, uint32_t fallback) {
  std::optional<std::string> s = ReadAll(path);
  uint32_t v;
  if (s && absl::SimpleAtoi(absl::StripAsciiWhitespace(*s), &v)) return v;
  return fallback;
}

}  // namespace

std::optional<ProcFsInfo> ReadProcFs(uint32_t pid, const std::string& root) {
  const std::string dir = absl::StrCat(root, "/", pid);
  ProcFsInfo info;
  std::optional<std::string> status = ReadAll(dir + "/status");
  if (!status) return std::nullopt;
  for (absl::string_view line : absl::StrSplit(*status, '\n')) {
    if (absl::ConsumePrefix(&line, "Uid:")) {
      std::vector<absl::string_view> f = absl::StrSplit(line, '\t', absl::SkipEmpty());
      if (f.size() >= 2) {
        (void)absl::SimpleAtoi(f[0], &info.uid);
        (void)absl::SimpleAtoi(f[1], &info.euid);
      }
    } else if (absl::ConsumePrefix(&line, "Name:")) {
      info.comm = std::string(absl::StripAsciiWhitespace(line));
    }
  }
  char buf[PATH_MAX];
  const std::string exe = dir + "/exe";
  const ssize_t n = readlink(exe.c_str(), buf, sizeof(buf));
  if (n > 0) info.image.exe.assign(buf, static_cast<size_t>(n));
  if (std::optional<std::string> c = ReadAll(dir + "/cmdline")) info.image.argv = SplitNul(*c);
  if (std::optional<std::string> e = ReadAll(dir + "/environ")) info.image.env = SplitNul(*e);
  info.loginuid = ReadU32File(dir + "/loginuid", info.loginuid);
  info.sessionid = ReadU32File(dir + "/sessionid", info.sessionid);
  // stat field 7 is tty_nr in the old encoding: minor's low byte, major, then
  // minor's high bits. The comm field (2) may hold spaces and parentheses.
  if (std::optional<std::string> st = ReadAll(dir + "/stat")) {
    const size_t close = st->rfind(')');
    if (close != std::string::npos) {
      std::vector<absl::string_view> f =
          absl::StrSplit(absl::string_view(*st).substr(close + 2), ' ');
      int64_t tty_nr = 0;
      if (f.size() > 4 && absl::SimpleAtoi(f[4], &tty_nr) && tty_nr > 0) {
        const uint32_t t = static_cast<uint32_t>(tty_nr);
        const uint32_t major = (t >> 8) & 0xfff;
        const uint32_t minor = (t & 0xff) | ((t >> 12) & 0xfff00);
        info.tty = (major << 20) | minor;
      }
    }
  }
  return info;
}

}  // namespace permsentry
