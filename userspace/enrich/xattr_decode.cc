#include "enrich/xattr_decode.h"

#include <cstring>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"

namespace permsentry {
namespace {

// On-disk layouts (little-endian), as in the kernel's posix_acl_xattr.h and
// capability.h. Written out here because userspace headers do not all ship them.
constexpr uint32_t kAclXattrVersion = 2;
constexpr size_t kAclHeaderSize = 4;
constexpr size_t kAclEntrySize = 8;  // u16 tag, u16 perm, u32 id
constexpr uint32_t kAclUndefinedId = 0xffffffff;

constexpr uint32_t kVfsCapRevisionMask = 0xff000000;
constexpr uint32_t kVfsCapFlagsEffective = 0x000001;
constexpr uint32_t kVfsCapRevision1 = 0x01000000;
constexpr uint32_t kVfsCapRevision2 = 0x02000000;
constexpr uint32_t kVfsCapRevision3 = 0x03000000;

uint32_t Le32(const char* p) {
  uint32_t v;
  std::memcpy(&v, p, 4);
  return v;
}
uint16_t Le16(const char* p) {
  uint16_t v;
  std::memcpy(&v, p, 2);
  return v;
}

constexpr const char* kCapNames[] = {
    "CAP_CHOWN",
    "CAP_DAC_OVERRIDE",
    "CAP_DAC_READ_SEARCH",
    "CAP_FOWNER",
    "CAP_FSETID",
    "CAP_KILL",
    "CAP_SETGID",
    "CAP_SETUID",
    "CAP_SETPCAP",
    "CAP_LINUX_IMMUTABLE",
    "CAP_NET_BIND_SERVICE",
    "CAP_NET_BROADCAST",
    "CAP_NET_ADMIN",
    "CAP_NET_RAW",
    "CAP_IPC_LOCK",
    "CAP_IPC_OWNER",
    "CAP_SYS_MODULE",
    "CAP_SYS_RAWIO",
    "CAP_SYS_CHROOT",
    "CAP_SYS_PTRACE",
    "CAP_SYS_PACCT",
    "CAP_SYS_ADMIN",
    "CAP_SYS_BOOT",
    "CAP_SYS_NICE",
    "CAP_SYS_RESOURCE",
    "CAP_SYS_TIME",
    "CAP_SYS_TTY_CONFIG",
    "CAP_MKNOD",
    "CAP_LEASE",
    "CAP_AUDIT_WRITE",
    "CAP_AUDIT_CONTROL",
    "CAP_SETFCAP",
    "CAP_MAC_OVERRIDE",
    "CAP_MAC_ADMIN",
    "CAP_SYSLOG",
    "CAP_WAKE_ALARM",
    "CAP_BLOCK_SUSPEND",
    "CAP_AUDIT_READ",
    "CAP_PERFMON",
    "CAP_BPF",
    "CAP_CHECKPOINT_RESTORE",
};

std::string Perm(uint16_t p) {
  return absl::StrCat((p & 4) ? "r" : "-", (p & 2) ? "w" : "-", (p & 1) ? "x" : "-");
}

}  // namespace

AclKind AclKindOf(absl::string_view name) {
  if (name == "system.posix_acl_access") return AclKind::kAccess;
  if (name == "system.posix_acl_default") return AclKind::kDefault;
  return AclKind::kNone;
}

absl::StatusOr<PosixAcl> DecodePosixAcl(absl::string_view value, uint32_t full_size) {
  if (value.size() < kAclHeaderSize) {
    return absl::InvalidArgumentError(
        absl::StrFormat("malformed ACL: %d bytes, shorter than its 4-byte header", value.size()));
  }
  const uint32_t version = Le32(value.data());
  if (version != kAclXattrVersion) {
    return absl::InvalidArgumentError(
        absl::StrFormat("malformed ACL: version %d, expected %d", version, kAclXattrVersion));
  }
  // The size the caller passed decides the entry count; the kernel rejects
  // anything that is not header + n entries, and so do we.
  if (full_size < kAclHeaderSize || (full_size - kAclHeaderSize) % kAclEntrySize != 0) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "malformed ACL: size %d is not a 4-byte header plus 8-byte entries", full_size));
  }
  PosixAcl acl;
  const size_t declared = (full_size - kAclHeaderSize) / kAclEntrySize;
  const size_t captured = (value.size() - kAclHeaderSize) / kAclEntrySize;
  acl.truncated = captured < declared;
  const size_t n = std::min(declared, captured);
  acl.entries.reserve(n);
  for (size_t i = 0; i < n; ++i) {
    const char* p = value.data() + kAclHeaderSize + i * kAclEntrySize;
    const uint16_t tag = Le16(p);
    const uint16_t perm = Le16(p + 2);
    const uint32_t id = Le32(p + 4);
    AclEntry e{.tag = static_cast<AclTag>(tag), .perm = perm, .id = std::nullopt};
    switch (static_cast<AclTag>(tag)) {
      case AclTag::kUser:
      case AclTag::kGroup:
        e.id = id;
        break;
      case AclTag::kUserObj:
      case AclTag::kGroupObj:
      case AclTag::kMask:
      case AclTag::kOther:
        break;
      default:
        return absl::InvalidArgumentError(
            absl::StrFormat("malformed ACL: entry %d has unknown tag 0x%x", i, tag));
    }
    if (perm & ~7u) {
      return absl::InvalidArgumentError(
          absl::StrFormat("malformed ACL: entry %d has permission bits 0x%x", i, perm));
    }
    if (e.id && *e.id == kAclUndefinedId) {
      return absl::InvalidArgumentError(
          absl::StrFormat("malformed ACL: entry %d names no user or group", i));
    }
    acl.entries.push_back(e);
  }
  return acl;
}

std::string FormatAclEntry(const AclEntry& e, NameCache& names) {
  switch (e.tag) {
    case AclTag::kUserObj:
      return absl::StrCat("user::", Perm(e.perm));
    case AclTag::kGroupObj:
      return absl::StrCat("group::", Perm(e.perm));
    case AclTag::kMask:
      return absl::StrCat("mask::", Perm(e.perm));
    case AclTag::kOther:
      return absl::StrCat("other::", Perm(e.perm));
    case AclTag::kUser:
      return absl::StrCat("user:", names.UserName(*e.id).value_or(absl::StrCat(*e.id)), ":",
                          Perm(e.perm));
    case AclTag::kGroup:
      return absl::StrCat("group:", names.GroupName(*e.id).value_or(absl::StrCat(*e.id)), ":",
                          Perm(e.perm));
  }
  return "?";
}

absl::StatusOr<FileCaps> DecodeFileCaps(absl::string_view value) {
  if (value.size() < 4) {
    return absl::InvalidArgumentError(
        absl::StrFormat("malformed file capabilities: %d bytes", value.size()));
  }
  const uint32_t magic = Le32(value.data());
  FileCaps caps;
  caps.effective = magic & kVfsCapFlagsEffective;
  size_t want = 0;
  switch (magic & kVfsCapRevisionMask) {
    case kVfsCapRevision1:
      caps.revision = 1;
      want = 12;
      break;
    case kVfsCapRevision2:
      caps.revision = 2;
      want = 20;
      break;
    case kVfsCapRevision3:
      caps.revision = 3;
      want = 24;
      break;
    default:
      return absl::InvalidArgumentError(absl::StrFormat(
          "malformed file capabilities: unknown revision 0x%08x", magic & kVfsCapRevisionMask));
  }
  if (value.size() != want) {
    return absl::InvalidArgumentError(
        absl::StrFormat("malformed file capabilities: revision %d takes %d bytes, got %d",
                        caps.revision, want, value.size()));
  }
  caps.permitted = Le32(value.data() + 4);
  caps.inheritable = Le32(value.data() + 8);
  if (caps.revision >= 2) {
    caps.permitted |= uint64_t{Le32(value.data() + 12)} << 32;
    caps.inheritable |= uint64_t{Le32(value.data() + 16)} << 32;
  }
  if (caps.revision == 3) caps.rootid = Le32(value.data() + 20);
  return caps;
}

std::vector<std::string> CapabilityNames(uint64_t mask) {
  std::vector<std::string> out;
  for (int bit = 0; bit < 64; ++bit) {
    if (!(mask & (uint64_t{1} << bit))) continue;
    out.push_back(bit < static_cast<int>(std::size(kCapNames)) ? kCapNames[bit]
                                                               : absl::StrCat("CAP_", bit));
  }
  return out;
}

}  // namespace permsentry

namespace permsentry {

std::optional<int> CapabilityBit(absl::string_view name) {
  for (size_t bit = 0; bit < std::size(kCapNames); ++bit)
    if (name == kCapNames[bit]) return static_cast<int>(bit);
  return std::nullopt;
}

}  // namespace permsentry
