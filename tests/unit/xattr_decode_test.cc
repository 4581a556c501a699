#include "enrich/xattr_decode.h"

#include <gtest/gtest.h>

#include <cstring>

#include "../common/acl_value.h"

namespace permsentry {
namespace {

// Builds an ACL xattr value: header + entries.
std::string Acl(std::initializer_list<std::tuple<uint16_t, uint16_t, uint32_t>> entries,
                uint32_t version = 2) {
  return testing::AclValue(entries, version);
}

constexpr uint32_t kNone = 0xffffffff;

std::vector<std::string> Format(const PosixAcl& acl) {
  NameCache names;
  std::vector<std::string> out;
  for (const AclEntry& e : acl.entries) out.push_back(FormatAclEntry(e, names));
  return out;
}

TEST(PosixAcl, DecodesEntriesWithNames) {
  const std::string v = Acl({{0x01, 6, kNone},
                             {0x02, 6, 65534},
                             {0x02, 4, 4000000000u},
                             {0x04, 4, kNone},
                             {0x08, 7, 0},
                             {0x10, 6, kNone},
                             {0x20, 0, kNone}});
  absl::StatusOr<PosixAcl> acl = DecodePosixAcl(v, v.size());
  ASSERT_TRUE(acl.ok()) << acl.status();
  EXPECT_FALSE(acl->truncated);
  EXPECT_EQ(Format(*acl),
            (std::vector<std::string>{"user::rw-", "user:nobody:rw-", "user:4000000000:r--",
                                      "group::r--", "group:root:rwx", "mask::rw-", "other::---"}));
}

TEST(PosixAcl, KindOfName) {
  EXPECT_EQ(AclKindOf("system.posix_acl_access"), AclKind::kAccess);
  EXPECT_EQ(AclKindOf("system.posix_acl_default"), AclKind::kDefault);
  EXPECT_EQ(AclKindOf("user.posix_acl_access"), AclKind::kNone);
}

TEST(PosixAcl, TruncatedCaptureKeepsWholeEntries) {
  const std::string v = Acl({{0x01, 6, kNone}, {0x04, 4, kNone}, {0x20, 4, kNone}});
  // Captured 4 + 8 + 3 bytes of a 28-byte value.
  absl::StatusOr<PosixAcl> acl = DecodePosixAcl(v.substr(0, 15), v.size());
  ASSERT_TRUE(acl.ok());
  EXPECT_TRUE(acl->truncated);
  EXPECT_EQ(Format(*acl), std::vector<std::string>{"user::rw-"});
}

TEST(PosixAcl, Malformed) {
  const auto err = [](const std::string& v, uint32_t size) {
    absl::StatusOr<PosixAcl> a = DecodePosixAcl(v, size);
    EXPECT_FALSE(a.ok());
    return std::string(a.status().message());
  };
  EXPECT_EQ(err("", 0), "malformed ACL: 0 bytes, shorter than its 4-byte header");
  EXPECT_EQ(err(std::string("\x02\x00", 2), 2),
            "malformed ACL: 2 bytes, shorter than its 4-byte header");
  EXPECT_EQ(err(Acl({}, 1), 4), "malformed ACL: version 1, expected 2");
  const std::string ok = Acl({{0x01, 6, kNone}});
  EXPECT_EQ(err(ok + "abc", ok.size() + 3),
            "malformed ACL: size 15 is not a 4-byte header plus 8-byte entries");
  EXPECT_EQ(err(Acl({{0x40, 6, kNone}}), 12), "malformed ACL: entry 0 has unknown tag 0x40");
  EXPECT_EQ(err(Acl({{0x01, 0x10, kNone}}), 12), "malformed ACL: entry 0 has permission bits 0x10");
  EXPECT_EQ(err(Acl({{0x02, 4, kNone}}), 12), "malformed ACL: entry 0 names no user or group");
  // A huge declared size with a small capture: decodes what is there, marked.
  absl::StatusOr<PosixAcl> huge = DecodePosixAcl(ok, 4 + 8 * 100000000u);
  ASSERT_TRUE(huge.ok());
  EXPECT_TRUE(huge->truncated);
  EXPECT_EQ(huge->entries.size(), 1u);
}

std::string Caps(std::initializer_list<uint32_t> words) {
  std::string v;
  for (uint32_t w : words) v.append(reinterpret_cast<const char*>(&w), 4);
  return v;
}

TEST(FileCaps, Revision2) {
  absl::StatusOr<FileCaps> c =
      DecodeFileCaps(Caps({0x02000001, (1u << 13) | (1u << 10), 0, 1u << (39 - 32), 0}));
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->revision, 2);
  EXPECT_TRUE(c->effective);
  EXPECT_EQ(CapabilityNames(c->permitted),
            (std::vector<std::string>{"CAP_NET_BIND_SERVICE", "CAP_NET_RAW", "CAP_BPF"}));
  EXPECT_TRUE(CapabilityNames(c->inheritable).empty());
  EXPECT_FALSE(c->rootid.has_value());
}

TEST(FileCaps, Revision3WithRootid) {
  absl::StatusOr<FileCaps> c = DecodeFileCaps(Caps({0x03000000, 1u << 21, 1u, 0, 0, 100000}));
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(c->revision, 3);
  EXPECT_FALSE(c->effective);
  EXPECT_EQ(CapabilityNames(c->permitted), std::vector<std::string>{"CAP_SYS_ADMIN"});
  EXPECT_EQ(CapabilityNames(c->inheritable), std::vector<std::string>{"CAP_CHOWN"});
  EXPECT_EQ(c->rootid, 100000u);
}

TEST(FileCaps, Revision1) {
  absl::StatusOr<FileCaps> c = DecodeFileCaps(Caps({0x01000000, 1u, 0}));
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(c->revision, 1);
  EXPECT_EQ(CapabilityNames(c->permitted), std::vector<std::string>{"CAP_CHOWN"});
}

TEST(FileCaps, Malformed) {
  EXPECT_EQ(DecodeFileCaps("ab").status().message(), "malformed file capabilities: 2 bytes");
  EXPECT_EQ(DecodeFileCaps(Caps({0x05000000, 0, 0})).status().message(),
            "malformed file capabilities: unknown revision 0x05000000");
  EXPECT_EQ(DecodeFileCaps(Caps({0x02000000, 1, 0})).status().message(),
            "malformed file capabilities: revision 2 takes 20 bytes, got 12");
  EXPECT_EQ(DecodeFileCaps(Caps({0x03000000, 1, 0, 0, 0})).status().message(),
            "malformed file capabilities: revision 3 takes 24 bytes, got 20");
}

TEST(CapabilityNames, UnknownBits) {
  EXPECT_EQ(CapabilityNames(uint64_t{1} << 41), std::vector<std::string>{"CAP_41"});
  EXPECT_EQ(CapabilityNames(uint64_t{1} << 63), std::vector<std::string>{"CAP_63"});
  EXPECT_TRUE(CapabilityNames(0).empty());
}

}  // namespace
}  // namespace permsentry
