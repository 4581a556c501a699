#include "enrich/access_delta.h"

#include <fcntl.h>
#include <sys/stat.h>

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "enrich/xattr_decode.h"

namespace permsentry {
namespace {

std::string Rwx(uint32_t bits) {
  return absl::StrCat((bits & 4) ? "r" : "", (bits & 2) ? "w" : "", (bits & 1) ? "x" : "");
}

std::string RwxFixed(uint32_t bits) {
  return absl::StrCat((bits & 4) ? "r" : "-", (bits & 2) ? "w" : "-", (bits & 1) ? "x" : "-");
}

std::string UserLabel(NameCache& names, uint32_t uid) { return names.UserLabel(uid); }

std::string GroupLabel(NameCache& names, uint32_t gid) { return names.GroupLabel(gid); }

// "+w", "-x", "+r -w" for one permission class, into `buf` (at least 9
// bytes); returns the length.
size_t BitsDelta(uint32_t before, uint32_t after, char* buf) {
  size_t n = 0;
  const auto put = [&](char sign, uint32_t bits) {
    if (n > 0) buf[n++] = ' ';
    buf[n++] = sign;
    if (bits & 4) buf[n++] = 'r';
    if (bits & 2) buf[n++] = 'w';
    if (bits & 1) buf[n++] = 'x';
  };
  if (const uint32_t gained = after & ~before) put('+', gained);
  if (const uint32_t lost = before & ~after) put('-', lost);
  return n;
}

void ModeDelta(const FileStateChange& s, NameCache& names, TextList& out) {
  const uint32_t after = *s.mode_after;
  const std::optional<uint32_t> owner = s.uid_after ? s.uid_after : s.uid_before;
  const std::optional<uint32_t> group = s.gid_after ? s.gid_after : s.gid_before;
  // Labels are looked up only for a class that changed (most chmods change one).
  std::optional<std::string> owner_text, group_text;
  const auto owner_label = [&]() -> const std::string& {
    if (!owner_text) owner_text = owner ? UserLabel(names, *owner) : std::string();
    return *owner_text;
  };
  const auto group_label = [&]() -> const std::string& {
    if (!group_text) group_text = group ? GroupLabel(names, *group) : std::string();
    return *group_text;
  };

  if (s.mode_before) {
    const uint32_t before = *s.mode_before;
    static constexpr struct {
      const char* name;
      int shift;
    } kClasses[] = {{"owner", 6}, {"group", 3}, {"others", 0}};
    for (const auto& c : kClasses) {
      char d[16];
      const size_t n = BitsDelta((before >> c.shift) & 7, (after >> c.shift) & 7, d);
      if (n == 0) continue;
      const std::string* who = c.shift == 6   ? &owner_label()
                               : c.shift == 3 ? &group_label()
                                              : nullptr;
      std::string& e = out.Add(c.name);
      if (who != nullptr && !who->empty()) {
        e.push_back(' ');
        e.append(*who);
      }
      e.append(": ");
      e.append(d, n);
    }
  } else if (after & S_IWOTH) {
    // Before unknown: say what matters about the state it is in now.
    absl::StrAppend(&out.Add(), "others: can ", Rwx(after & 7), " (before unknown)");
  }

  const auto added = [&](uint32_t bit) {
    return (after & bit) && (!s.mode_before || !(*s.mode_before & bit));
  };
  const auto removed = [&](uint32_t bit) {
    return s.mode_before && (*s.mode_before & bit) && !(after & bit);
  };
  const char* verb_known = s.mode_before ? "added" : "set";
  if (added(S_ISUID) && !s.is_dir) {
    absl::StrAppend(&out.Add(), "setuid bit ", verb_known, ": runs as ",
                    !owner        ? "its owner (owner unknown)"
                    : *owner == 0 ? "root (owner uid 0)"
                                  : absl::StrCat("owner ", owner_label()));
  }
  if (removed(S_ISUID)) out.push_back("setuid bit removed");
  if (added(S_ISGID)) {
    absl::StrAppend(&out.Add(), "setgid bit ", verb_known,
                    s.is_dir ? ": new files inherit group " : ": runs with group ",
                    group ? group_label() : "(group unknown)");
  }
  if (removed(S_ISGID)) out.push_back("setgid bit removed");
  if (removed(S_ISVTX) && s.is_dir && (after & S_IWOTH))
    out.push_back("sticky bit removed: others can delete anyone's files");
}

void OwnerDelta(const OpEvent& ev, const FileStateChange& s, NameCache& names, TextList& out) {
  if (ev.owner && (!s.uid_before || *s.uid_before != *ev.owner)) {
    absl::StrAppend(&out.Add(), "owner: ", s.uid_before ? UserLabel(names, *s.uid_before) : "?",
                    " -> ", UserLabel(names, *ev.owner));
    const std::optional<uint32_t> mode = s.mode_after ? s.mode_after : s.mode_before;
    if (mode && (*mode & S_ISUID) && !s.is_dir && *ev.owner == 0)
      out.push_back("setuid file now runs as root (owner uid 0)");
  }
  if (ev.group && (!s.gid_before || *s.gid_before != *ev.group)) {
    absl::StrAppend(&out.Add(), "group: ", s.gid_before ? GroupLabel(names, *s.gid_before) : "?",
                    " -> ", GroupLabel(names, *ev.group));
  }
}

void AclDelta(const OpEvent& ev, const DecodedRights& rights, NameCache& names, TextList& out) {
  if (ev.op == Op::kXattrRemove) {
    out.push_back("ACL removed: access falls back to the mode bits");
    return;
  }
  if (!rights.acl || !rights.acl->ok()) return;
  const PosixAcl* acl = &**rights.acl;
  std::optional<uint16_t> mask;
  for (const AclEntry& e : acl->entries)
    if (e.tag == AclTag::kMask) mask = e.perm;
  const bool is_default = AclKindOf(*ev.xattr_name) == AclKind::kDefault;
  const char* via = is_default ? " via default ACL (new files)" : " via ACL";
  for (const AclEntry& e : acl->entries) {
    // Named entries and the owning group are limited by the mask.
    const uint16_t effective =
        (e.tag == AclTag::kUser || e.tag == AclTag::kGroup || (e.tag == AclTag::kGroupObj && mask))
            ? (e.perm & mask.value_or(7))
            : e.perm;
    if (e.tag == AclTag::kUser) {
      absl::StrAppend(&out.Add(), "user ", UserLabel(names, *e.id), ": ", RwxFixed(effective), via);
    } else if (e.tag == AclTag::kGroup) {
      absl::StrAppend(&out.Add(), "group ", GroupLabel(names, *e.id), ": ", RwxFixed(effective),
                      via);
    } else if (e.tag == AclTag::kOther && effective != 0) {
      absl::StrAppend(&out.Add(), "others: ", RwxFixed(effective), via);
    }
  }
}

void CapsDelta(const OpEvent& ev, const DecodedRights& rights, TextList& out) {
  if (ev.op == Op::kXattrRemove) {
    out.push_back("file capabilities removed");
    return;
  }
  if (!rights.caps || !rights.caps->ok()) return;
  const FileCaps* caps = &**rights.caps;
  std::vector<std::string> names = CapabilityNames(caps->permitted);
  if (names.empty()) return;
  absl::StrAppend(&out.Add(), "runs with ", absl::StrJoin(names, ","),
                  caps->effective ? " (effective at exec)" : " (permitted)");
}

// Supplementary groups set: those gained and lost by name, or the whole new
// list when the one before is not known.
void GroupsDelta(const OpEvent& ev, NameCache& names, TextList& out) {
  const auto named = [&](uint32_t g) {
    const std::optional<std::string> n = names.GroupName(g);
    return n ? absl::StrCat(*n, " (", g, ")") : absl::StrCat(g);
  };
  const std::vector<uint32_t>& after = *ev.groups_after;
  if (!ev.groups_before) {
    std::vector<std::string> all;
    for (uint32_t g : after) all.push_back(named(g));
    absl::StrAppend(&out.Add(), "groups now ", all.empty() ? "none" : absl::StrJoin(all, ", "));
    return;
  }
  const std::vector<uint32_t>& before = *ev.groups_before;
  std::vector<std::string> changes;
  for (uint32_t g : after)
    if (std::find(before.begin(), before.end(), g) == before.end())
      changes.push_back("+" + named(g));
  for (uint32_t g : before)
    if (std::find(after.begin(), after.end(), g) == after.end()) changes.push_back("-" + named(g));
  if (!changes.empty()) absl::StrAppend(&out.Add(), "groups ", absl::StrJoin(changes, ", "));
}

void CredsDelta(const OpEvent& ev, TextList& out) {
  const Creds& b = *ev.creds_before;
  const Creds& a = *ev.creds_after;
  const auto id = [](const char* name, uint32_t before, uint32_t after, TextList& o) {
    if (before != after)
      absl::StrAppend(&o.Add(), name, " ", before, " -> ", after, after == 0 ? " (root)" : "");
  };
  id("uid", b.uid, a.uid, out);
  id("euid", b.euid, a.euid, out);
  id("suid", b.suid, a.suid, out);
  id("gid", b.gid, a.gid, out);
  id("egid", b.egid, a.egid, out);
  if (a.userns != b.userns) {
    // Capabilities in a new user namespace hold only over what that namespace
    // owns, not over the host.
    absl::StrAppend(&out.Add(), "entered user namespace ", a.userns,
                    " (its capabilities hold there)");
    return;
  }
  // Gained: new in the permitted set. Raising the effective set from the
  // permitted one (PR_SET_KEEPCAPS after a uid switch) gains nothing held.
  if (const uint64_t gained = (a.cap_permitted | a.cap_effective) & ~b.cap_permitted)
    out.push_back("gained " + absl::StrJoin(CapabilityNames(gained), ","));
  if (const uint64_t raised = a.cap_effective & ~b.cap_effective & b.cap_permitted)
    out.push_back("raised from permitted " + absl::StrJoin(CapabilityNames(raised), ","));
  if (const uint64_t lost = b.cap_effective & ~a.cap_effective)
    out.push_back("dropped " + absl::StrJoin(CapabilityNames(lost), ","));
  if (const uint64_t amb = a.cap_ambient & ~b.cap_ambient)
    out.push_back("ambient " + absl::StrJoin(CapabilityNames(amb), ",") +
                  " (kept across exec by unprivileged programs)");
}

// What a change to a watched credential file did to it.
void CredfileDelta(const OpEvent& ev, const FileStateChange& s, NameCache& names, TextList& out) {
  const bool second = ev.watch && (ev.watch->how & PS_WM_PATH2);
  switch (ev.op) {
    case Op::kWriteOpen: {
      const uint32_t f = ev.open_flags.value_or(0);
      if (ev.hook == Hook::kScan) {
        out.push_back("held open for writing since before the sensor started");
      } else if (ev.object && !ev.inode_before && ev.hook == Hook::kFentry) {
        out.push_back("created by the open");
      } else if (f & O_TRUNC) {
        out.push_back("contents replaced (opened with O_TRUNC)");
      } else if (f & O_APPEND) {
        out.push_back("opened for appending");
      } else {
        out.push_back("opened for writing");
      }
      break;
    }
    case Op::kTruncate:
      out.push_back("truncated");
      break;
    case Op::kWrite:
      out.push_back("written through a descriptor held open since before the sensor started");
      break;
    case Op::kRename:
      if (second) {
        out.push_back(ev.inode_before ? "replaced by rename (a new inode holds the name)"
                                      : "created by rename");
        // The new file's access against the one it replaced.
        if (s.mode_before && s.mode_after) ModeDelta(s, names, out);
        if (s.uid_before && s.uid_after && *s.uid_before != *s.uid_after)
          absl::StrAppend(&out.Add(), "owner uid ", *s.uid_before, " -> ", *s.uid_after);
        if (s.gid_before && s.gid_after && *s.gid_before != *s.gid_after)
          absl::StrAppend(&out.Add(), "group gid ", *s.gid_before, " -> ", *s.gid_after);
      } else {
        out.push_back("renamed away (the watched name no longer holds it)");
      }
      break;
    case Op::kLink:
      out.push_back(second ? "new hard link at a watched name"
                           : "hard link made: another name now leads to it");
      break;
    case Op::kSymlink:
      out.push_back("symlink created at a watched name");
      break;
    case Op::kUnlink:
      out.push_back("removed");
      break;
    default:
      break;
  }
}

}  // namespace

namespace {
// "0644", "04755" into `out` (at least 6 bytes); returns the length.
size_t ModeChars(uint32_t mode, char* out) {
  mode &= 07777;
  size_t n = 0;
  out[n++] = '0';
  if (mode > 0777) out[n++] = static_cast<char>('0' + (mode >> 9));
  out[n++] = static_cast<char>('0' + ((mode >> 6) & 7));
  out[n++] = static_cast<char>('0' + ((mode >> 3) & 7));
  out[n++] = static_cast<char>('0' + (mode & 7));
  return n;
}
}  // namespace

std::string FormatMode(uint32_t mode) {
  char out[6];
  return std::string(out, ModeChars(mode, out));
}

ModeText::ModeText(uint32_t mode) : size(ModeChars(mode, text)) {}

void AppendMode(std::string* out, uint32_t mode) {
  char m[6];
  out->append(m, ModeChars(mode, m));
}

FileStateChange FileStateOf(const OpEvent& ev) {
  FileStateChange s;
  if (ev.inode_before) {
    s.mode_before = ev.inode_before->mode & 07777;
    s.uid_before = ev.inode_before->uid;
    s.gid_before = ev.inode_before->gid;
    s.is_dir = S_ISDIR(ev.inode_before->mode);
  }
  if (ev.inode_after) {
    s.mode_after = ev.inode_after->mode & 07777;
    s.uid_after = ev.inode_after->uid;
    s.gid_after = ev.inode_after->gid;
    s.is_dir = S_ISDIR(ev.inode_after->mode);
  } else if (ev.success()) {
    // What the call set (chmod writes all 07777 bits; chown leaves -1 alone).
    if (ev.mode) s.mode_after = *ev.mode;
    if (ev.owner) s.uid_after = *ev.owner;
    if (ev.group) s.gid_after = *ev.group;
  }
  return s;
}

DecodedRights DecodeRights(const OpEvent& ev) {
  DecodedRights r;
  if (ev.op == Op::kXattrRemove || !ev.xattr_name || !ev.xattr_value) return r;
  if (AclKindOf(*ev.xattr_name) != AclKind::kNone) {
    r.acl = DecodePosixAcl(*ev.xattr_value, ev.xattr_value_size);
  } else if (*ev.xattr_name == "security.capability") {
    r.caps = DecodeFileCaps(*ev.xattr_value);
  }
  return r;
}

std::vector<std::string> AccessDelta(const OpEvent& ev, NameCache& names) {
  return AccessDelta(ev, FileStateOf(ev), DecodeRights(ev), names);
}

std::vector<std::string> AccessDelta(const OpEvent& ev, const FileStateChange& s,
                                     const DecodedRights& rights, NameCache& names) {
  TextList out;
  AccessDeltaInto(ev, s, rights, names, out);
  return out.ToVector();
}

void AccessDeltaInto(const OpEvent& ev, const FileStateChange& s, const DecodedRights& rights,
                     NameCache& names, TextList& out) {
  out.clear();
  if (!ev.success()) return;
  switch (ev.op) {
    case Op::kMode:
      if (s.mode_after) ModeDelta(s, names, out);
      break;
    case Op::kOwner:
      OwnerDelta(ev, s, names, out);
      break;
    case Op::kXattrSet:
    case Op::kXattrRemove:
      if (ev.xattr_name && AclKindOf(*ev.xattr_name) != AclKind::kNone)
        AclDelta(ev, rights, names, out);
      if (ev.xattr_name && *ev.xattr_name == "security.capability") CapsDelta(ev, rights, out);
      break;
    case Op::kCreds:
    case Op::kExecCreds:
      if (ev.creds_before && ev.creds_after) CredsDelta(ev, out);
      if (ev.groups_after) GroupsDelta(ev, names, out);
      break;
    case Op::kCreate:
    case Op::kMkdir:
    case Op::kMknod:
      if (s.mode_after || ev.mode)
        absl::StrAppend(&out.Add(), "created with mode ",
                        FormatMode(s.mode_after ? *s.mode_after : *ev.mode));
      if (ev.rdev) {
        const uint32_t type = ev.inode_after ? ev.inode_after->mode & S_IFMT
                              : ev.object    ? ev.object->mode & S_IFMT
                                             : 0;
        absl::StrAppend(&out.Add(),
                        type == S_IFBLK   ? "block device "
                        : type == S_IFCHR ? "character device "
                                          : "device ",
                        *ev.rdev >> 20, ":", *ev.rdev & 0xfffff);
      }
      break;
    case Op::kMount:
    case Op::kUmount:
      break;
    case Op::kWriteOpen:
    case Op::kWrite:
    case Op::kTruncate:
    case Op::kRename:
    case Op::kLink:
    case Op::kSymlink:
    case Op::kUnlink:
      CredfileDelta(ev, s, names, out);
      break;
  }
}

}  // namespace permsentry
