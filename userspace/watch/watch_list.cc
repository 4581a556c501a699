#include "watch/watch_list.h"

#include <dirent.h>
#include <glob.h>
#include <pwd.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>

#include <memory>
#include <optional>

#include "absl/container/flat_hash_set.h"
#include "absl/status/status.h"
#include "absl/strings/match.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_split.h"

namespace permsentry {
namespace {

constexpr size_t kMaxName = PS_WATCH_NAME_LEN - 2;  // the kernel key keeps a NUL after it
constexpr size_t kMaxDirEntries = 4096;             // per watched directory

bool HasGlob(absl::string_view s) { return s.find_first_of("*?[") != absl::string_view::npos; }

// Every distinct home directory in the password database.
std::vector<std::string> Homes() {
  std::vector<std::string> homes;
  absl::flat_hash_set<std::string> seen;
  setpwent();
  while (passwd* pw = getpwent()) {
    if (pw->pw_dir == nullptr || pw->pw_dir[0] != '/' || pw->pw_dir[1] == '\0') continue;
    std::string h(pw->pw_dir);
    while (h.size() > 1 && h.back() == '/') h.pop_back();
    if (seen.insert(h).second) homes.push_back(std::move(h));
  }
  endpwent();
  return homes;
}

// Existing paths matching a glob pattern (no match: none).
std::vector<std::string> Glob(const std::string& pattern) {
  std::vector<std::string> out;
  glob_t g{};
  if (glob(pattern.c_str(), GLOB_NOSORT, nullptr, &g) == 0) {
    for (size_t i = 0; i < g.gl_pathc; ++i) out.emplace_back(g.gl_pathv[i]);
  }
  globfree(&g);
  return out;
}

std::optional<struct stat> Stat(const std::string& path, bool follow) {
  struct stat st;
  if ((follow ? stat(path.c_str(), &st) : lstat(path.c_str(), &st)) != 0) return std::nullopt;
  return st;
}

InodeId IdOf(const struct stat& st) {
  return InodeId{.ino = st.st_ino, .dev = KernelDev(st.st_dev)};
}

template <typename Map, typename Key>
void Mark(Map& m, const Key& k, uint32_t cls, uint32_t flags) {
  auto [it, inserted] = m.try_emplace(k, WatchVal{.cls = cls, .flags = 0});
  it->second.flags |= flags;
}

void SplitLast(const std::string& path, std::string& dir, std::string& name) {
  const size_t slash = path.rfind('/');
  dir = slash == 0 ? "/" : path.substr(0, slash);
  name = path.substr(slash + 1);
}

}  // namespace

uint32_t KernelDev(uint64_t st_dev) {
  return static_cast<uint32_t>((major(st_dev) << 20) | (minor(st_dev) & 0xfffff));
}

std::vector<WatchEntry> DefaultWatchList() {
  struct Def {
    const char* pattern;
    const char* cls;
  };
  // sshd on Debian reads both authorized_keys and authorized_keys2 by default.
  static constexpr Def kDefaults[] = {
      {"/etc/passwd", "passwd"},
      {"/etc/shadow", "shadow"},
      {"/etc/group", "group"},
      {"/etc/gshadow", "gshadow"},
      {"/etc/sudoers", "sudoers"},
      {"/etc/sudoers.d/", "sudoers"},
      {"/etc/pam.d/", "pam"},
      {"/etc/security/", "pam"},
      {"/etc/ssh/sshd_config", "sshd_config"},
      {"/etc/ssh/sshd_config.d/", "sshd_config"},
      {"/root/.ssh/authorized_keys", "authorized_keys"},
      {"/root/.ssh/authorized_keys2", "authorized_keys"},
      {"~/.ssh/authorized_keys", "authorized_keys"},
      {"~/.ssh/authorized_keys2", "authorized_keys"},
      {"/etc/polkit-1/rules.d/", "polkit"},
      {"/etc/sudo.conf", "sudoers"},
      {"/etc/doas.conf", "sudoers"},
      // The tools' backups hold the same hashes and names.
      {"/etc/passwd-", "passwd"},
      {"/etc/shadow-", "shadow"},
      {"/etc/group-", "group"},
      {"/etc/gshadow-", "gshadow"},
      {"/etc/subuid", "subid"},
      {"/etc/subgid", "subid"},
      // What runs code as root: preloaded into every dynamically linked
      // program, on the library path, started by systemd, run by cron.
      {"/etc/ld.so.preload", "ld_preload"},
      {"/etc/ld.so.conf", "ld_so_conf"},
      {"/etc/ld.so.conf.d/", "ld_so_conf"},
      {"/etc/systemd/system/", "systemd_unit"},
      {"/run/systemd/system/", "systemd_unit"},
      {"/usr/lib/systemd/system/", "systemd_unit"},
      {"/etc/crontab", "cron"},
      {"/etc/cron.d/", "cron"},
      {"/etc/cron.hourly/", "cron"},
      {"/etc/cron.daily/", "cron"},
      {"/etc/cron.weekly/", "cron"},
      {"/etc/cron.monthly/", "cron"},
      {"/var/spool/cron/crontabs/", "cron"},
      // What every login shell (root's in particular) runs.
      {"/etc/profile", "shell_startup"},
      {"/etc/profile.d/", "shell_startup"},
      {"/etc/environment", "shell_startup"},
      {"/etc/bash.bashrc", "shell_startup"},
      {"/root/.bashrc", "shell_startup"},
      {"/root/.profile", "shell_startup"},
      {"/root/.bash_profile", "shell_startup"},
      {"/root/.bash_login", "shell_startup"},
      {"/root/.zshrc", "shell_startup"},
  };
  std::vector<WatchEntry> out;
  for (const Def& d : kDefaults) out.push_back(*MakeWatchEntry(d.pattern, d.cls));
  return out;
}

absl::StatusOr<WatchEntry> MakeWatchEntry(absl::string_view pattern, absl::string_view cls) {
  if (cls.empty() || cls.size() > 32 ||
      cls.find_first_not_of("abcdefghijklmnopqrstuvwxyz0123456789_") != absl::string_view::npos) {
    return absl::InvalidArgumentError(
        absl::StrFormat("class \"%s\": use 1 to 32 characters of a-z, 0-9 and _", cls));
  }
  absl::string_view rest = pattern;
  if (absl::StartsWith(rest, "~/")) {
    rest.remove_prefix(1);
  } else if (!absl::StartsWith(rest, "/")) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "\"%s\": a watched path is absolute (or starts with ~/ for every home)", pattern));
  }
  WatchEntry e{.pattern = std::string(pattern), .cls = std::string(cls), .directory = false};
  if (rest.size() > 1 && rest.back() == '/') {
    e.directory = true;
    rest.remove_suffix(1);
  }
  if (rest == "/") return absl::InvalidArgumentError("\"/\": watching the root is not supported");
  if (pattern.find('\0') != absl::string_view::npos ||
      pattern.find('\n') != absl::string_view::npos)
    return absl::InvalidArgumentError("a watched path may not contain NUL or newline");
  std::vector<absl::string_view> parts = absl::StrSplit(rest.substr(1), '/');
  for (absl::string_view p : parts) {
    if (p.empty() || p == "." || p == "..")
      return absl::InvalidArgumentError(absl::StrFormat(
          "\"%s\": empty, \".\" and \"..\" components are not allowed (write it normalised)",
          pattern));
  }
  if (parts.back().size() > kMaxName) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "\"%s\": the last name is longer than %d bytes, which the kernel filter cannot hold",
        pattern, kMaxName));
  }
  return e;
}

std::vector<std::string> ExpandWatchEntry(const WatchEntry& entry) {
  std::string p = entry.pattern;
  if (entry.directory) p.pop_back();
  std::vector<std::string> candidates;
  if (absl::StartsWith(p, "~/")) {
    for (const std::string& h : Homes()) candidates.push_back(h + p.substr(1));
  } else {
    candidates.push_back(p);
  }
  std::vector<std::string> out;
  for (const std::string& c : candidates) {
    std::string dir, name;
    SplitLast(c, dir, name);
    // The directory part must exist; the name may not exist yet (when it is
    // created, its directory's identity and the name recognise it).
    std::vector<std::string> dirs = HasGlob(dir) ? Glob(dir) : std::vector<std::string>{dir};
    for (const std::string& d : dirs) {
      const std::string joined = d == "/" ? "/" + name : d + "/" + name;
      if (HasGlob(name)) {
        for (std::string& m : Glob(joined)) out.push_back(std::move(m));
      } else {
        out.push_back(joined);
      }
    }
  }
  return out;
}

KernelWatch BuildKernelWatch(const std::vector<WatchEntry>& list) {
  KernelWatch kw;
  for (uint32_t cls = 0; cls < list.size(); ++cls) {
    const WatchEntry& e = list[cls];
    for (const std::string& path : ExpandWatchEntry(e)) {
      std::string dir, name;
      SplitLast(path, dir, name);
      if (name.empty() || name.size() > kMaxName) continue;
      kw.filter[name] |= PS_NF_LAST | (e.directory ? PS_NF_DIR : 0);
      // The directory by its name in its own parent: a directory made or moved
      // there after this refresh (a new ~/.ssh, a replaced sudoers.d) is
      // watched from its first write, not from the next refresh. A watched
      // directory D: "D's name/" in D's parent (every entry); a watched name N
      // in directory D: "D's name/N" in D's parent.
      {
        std::string holder = dir, sub = name + "/";
        if (!e.directory) {
          std::string dir_name;
          SplitLast(dir, holder, dir_name);
          if (holder.empty()) holder = "/";
          sub = dir_name.empty() ? std::string() : dir_name + "/" + name;
        }
        if (!sub.empty() && sub.size() <= kMaxName) {
          if (const std::optional<struct stat> hst = Stat(holder, /*follow=*/true);
              hst && S_ISDIR(hst->st_mode)) {
            Mark(kw.inodes, IdOf(*hst), cls, PS_WF_SUBNAMES);
            Mark(kw.names, NameInDir{.dir = IdOf(*hst), .name = sub}, cls, 0);
          }
        }
      }
      const std::optional<struct stat> dst = Stat(dir, /*follow=*/true);
      if (!dst || !S_ISDIR(dst->st_mode)) continue;
      Mark(kw.inodes, IdOf(*dst), cls, PS_WF_NAMES);
      // The name's value says what the inode at that name is watched as: a
      // directory put back there (moved away and back, replaced) watches every
      // entry again from its first write.
      Mark(kw.names, NameInDir{.dir = IdOf(*dst), .name = name}, cls,
           e.directory ? PS_WF_ALL_ENTRIES : 0);

      // The object itself: the name's own inode, and where it leads when it is
      // a symlink (writes go there).
      const std::optional<struct stat> lst = Stat(path, /*follow=*/false);
      if (!lst) continue;
      ++kw.paths_present;
      const std::optional<struct stat> st = S_ISLNK(lst->st_mode) ? Stat(path, true) : lst;
      for (const std::optional<struct stat>& s : {lst, st}) {
        if (!s) continue;
        const bool all = e.directory && S_ISDIR(s->st_mode);
        Mark(kw.inodes, IdOf(*s), cls, PS_WF_OBJECT | (all ? PS_WF_ALL_ENTRIES : 0));
      }
      if (!e.directory || !st || !S_ISDIR(st->st_mode)) continue;
      // Entries of a watched directory are watched where they are (the directory
      // says so) and wherever else they are linked (their own inodes).
      std::unique_ptr<DIR, int (*)(DIR*)> d(opendir(path.c_str()), closedir);
      if (!d) continue;
      size_t n = 0;
      while (dirent* de = readdir(d.get())) {
        const absl::string_view nm = de->d_name;
        if (nm == "." || nm == "..") continue;
        if (++n > kMaxDirEntries) break;
        if (std::optional<struct stat> es = Stat(path + "/" + std::string(nm), false))
          Mark(kw.inodes, IdOf(*es), cls, PS_WF_OBJECT);
      }
    }
  }
  return kw;
}

}  // namespace permsentry
