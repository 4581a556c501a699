#include <gtest/gtest.h>

#include "decode/decode.h"
#include "decode_or_fail.h"
#include "enrich/access_delta.h"
#include "enrich/path.h"
#include "record_builder.h"

namespace permsentry {
namespace {

using testing::RecordBuilder;

OpEvent Decode(std::vector<uint8_t> rec) { return testing::DecodeOrFail(std::move(rec)); }

TEST(NormalizeAbsolutePath, Lexical) {
  bool dotdot = false;
  EXPECT_EQ(NormalizeAbsolutePath("/a//b/./c/", &dotdot), "/a/b/c");
  EXPECT_FALSE(dotdot);
  EXPECT_EQ(NormalizeAbsolutePath("/a/b/../c", &dotdot), "/a/c");
  EXPECT_TRUE(dotdot);
  EXPECT_EQ(NormalizeAbsolutePath("/../../x"), "/x");
  EXPECT_EQ(NormalizeAbsolutePath("/"), "/");
  EXPECT_EQ(NormalizeAbsolutePath("//"), "/");
  EXPECT_EQ(NormalizeAbsolutePath("/a/\xff/b\n"), "/a/\xff/b\n");  // bytes kept
}

// The sixteen-byte scan for a normal path: "//", "/./", "/../" and a
// trailing "/." or "/.." anywhere around the block edges are normalised, and
// a dot file ("/.ssh") is left as it is.
TEST(NormalizeAbsolutePath, EveryPositionOfABlock) {
  for (size_t at = 1; at < 40; ++at) {
    const std::string base = "/" + std::string(at, 'a');
    for (const std::string& tail : {std::string("/./x"), std::string("//x"), std::string("/../x"),
                                    std::string("/."), std::string("/..")}) {
      const std::string path = base + tail + "/" + std::string(20, 'z');
      bool dotdot = false;
      const std::string got = NormalizeAbsolutePath(path, &dotdot);
      EXPECT_EQ(got.find("/./"), std::string::npos) << path;
      EXPECT_EQ(got.find("//"), std::string::npos) << path;
      EXPECT_EQ(got.find("/../"), std::string::npos) << path;
      EXPECT_LT(got.size(), path.size()) << path;
    }
    const std::string dotfile = base + "/.ssh/" + std::string(20, 'k');
    EXPECT_EQ(NormalizeAbsolutePath(dotfile, nullptr), dotfile);
  }
}

TEST(ResolveEventPath, Methods) {
  // fchmod: the kernel's own path of the fd.
  auto fd = Decode(RecordBuilder(91).Arg(0, 3).Resolved("/etc/x", PS_PATH_OBJECT).Build());
  auto r = ResolveEventPath(fd);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->path, "/etc/x");
  EXPECT_EQ(r->method, "kernel_fd");

  // chmod relative: cwd from the kernel + argument.
  auto rel = Decode(
      RecordBuilder(90).Path("../sudoers.d/./x").Resolved("/etc/pam.d", PS_PATH_BASE).Build());
  r = ResolveEventPath(rel);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->path, "/etc/sudoers.d/x");
  EXPECT_EQ(r->method, "kernel_cwd");
  EXPECT_EQ(r->caveats, std::vector<std::string>{"dotdot_lexical"});

  // fchmodat with a real dirfd.
  auto at = Decode(RecordBuilder(268).Arg(0, 5).Path("x").Resolved("/srv", PS_PATH_BASE).Build());
  EXPECT_EQ(ResolveEventPath(at)->method, "kernel_dirfd");
  EXPECT_EQ(ResolveEventPath(at)->path, "/srv/x");

  // Absolute argument: normalised text.
  auto abs = Decode(RecordBuilder(90).Path("/etc//shadow").Build());
  EXPECT_EQ(ResolveEventPath(abs)->path, "/etc/shadow");
  EXPECT_EQ(ResolveEventPath(abs)->method, "argument");

  // Caveats from the kernel walk.
  auto deep = Decode(RecordBuilder(91)
                         .Resolved("/c/d", PS_PATH_OBJECT | PS_PATH_TRUNCATED | PS_PATH_DELETED)
                         .Build());
  EXPECT_EQ(ResolveEventPath(deep)->caveats, (std::vector<std::string>{"truncated", "deleted"}));

  // Bad fd / relative path without a base: nothing to name.
  auto bad = Decode(RecordBuilder(91).Resolved("", PS_PATH_OBJECT | PS_PATH_BAD_FD).Build());
  EXPECT_FALSE(ResolveEventPath(bad));
  auto nobase = Decode(RecordBuilder(90).Path("x").Build());
  EXPECT_FALSE(ResolveEventPath(nobase));
}

TEST(ResolveEventPath, ChrootedCallerIsNamedFromTheHostRoot) {
  // The kernel's walk to the host's root, the caller's root its first bytes.
  auto obj = Decode(RecordBuilder(91)
                        .Arg(0, 3)
                        .Resolved("/srv/jail/etc/passwd", PS_PATH_OBJECT)
                        .RootLen(9)
                        .Build());
  auto r = ResolveEventPath(obj);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->path, "/srv/jail/etc/passwd");
  EXPECT_EQ(r->process_root, "/srv/jail");
  EXPECT_EQ(r->path_in_root, "/etc/passwd");

  // An absolute argument: the caller's root is the base; ".." stops there.
  auto abs = Decode(RecordBuilder(90)
                        .Path("/../etc/passwd")
                        .Resolved("/srv/jail", PS_PATH_BASE)
                        .RootLen(9)
                        .Build());
  r = ResolveEventPath(abs);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->path, "/srv/jail/etc/passwd");
  EXPECT_EQ(r->method, "kernel_root");
  EXPECT_EQ(r->path_in_root, "/etc/passwd");

  // A relative one from a cwd inside the jail.
  auto rel = Decode(
      RecordBuilder(90).Path("passwd").Resolved("/srv/jail/etc", PS_PATH_BASE).RootLen(9).Build());
  r = ResolveEventPath(rel);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->path, "/srv/jail/etc/passwd");
  EXPECT_EQ(r->process_root, "/srv/jail");
  EXPECT_EQ(r->path_in_root, "/etc/passwd");

  // The host's own processes: no root to report; another namespace: said so.
  auto host = Decode(RecordBuilder(91).Arg(0, 3).Resolved("/etc/passwd", PS_PATH_OBJECT).Build());
  EXPECT_EQ(ResolveEventPath(host)->process_root, "");
  auto ns = Decode(RecordBuilder(91)
                       .Arg(0, 3)
                       .Resolved("/etc/passwd", PS_PATH_OBJECT | PS_PATH_OTHER_MNTNS)
                       .Build());
  EXPECT_EQ(ResolveEventPath(ns)->caveats, std::vector<std::string>{"other_mount_namespace"});

  // A root length beyond the path is a corrupt record.
  auto bad = RecordBuilder(91).Arg(0, 3).Resolved("/a", PS_PATH_OBJECT).RootLen(9).Build();
  EXPECT_FALSE(DecodeOpEvent(bad, {}).ok());
}

std::vector<std::string> Delta(std::vector<uint8_t> rec) {
  NameCache names;
  return AccessDelta(Decode(std::move(rec)), names);
}

TEST(AccessDelta, ModeWithExactBefore) {
  // fchmod 0440 -> 0442 on a root:root file.
  EXPECT_EQ(
      Delta(RecordBuilder(91).Arg(1, 0442).Before(0100440, 0, 0).After(0100442, 0, 0).Build()),
      std::vector<std::string>{"others: +w"});
  EXPECT_EQ(
      Delta(RecordBuilder(91).Arg(1, 0604).Before(0100750, 0, 4).After(0100604, 0, 4).Build()),
      (std::vector<std::string>{"owner root (0): -x", "group adm (4): -rx", "others: +r"}));
  EXPECT_EQ(
      Delta(RecordBuilder(91).Arg(1, 04755).Before(0100755, 0, 0).After(0104755, 0, 0).Build()),
      std::vector<std::string>{"setuid bit added: runs as root (owner uid 0)"});
  EXPECT_EQ(Delta(RecordBuilder(91).Arg(1, 02755).Before(040755, 0, 4).After(042755, 0, 4).Build()),
            std::vector<std::string>{"setgid bit added: new files inherit group adm (4)"});
  EXPECT_EQ(Delta(RecordBuilder(91).Arg(1, 0777).Before(041777, 0, 0).After(040777, 0, 0).Build()),
            std::vector<std::string>{"sticky bit removed: others can delete anyone's files"});
  EXPECT_EQ(
      Delta(
          RecordBuilder(91).Arg(1, 0755).Before(0104755, 1000, 0).After(0100755, 1000, 0).Build()),
      std::vector<std::string>{"setuid bit removed"});
}

TEST(AccessDelta, ModeWithBeforeUnknown) {
  EXPECT_EQ(Delta(RecordBuilder(90).Arg(1, 0666).Path("/etc/x").Build()),
            std::vector<std::string>{"others: can rw (before unknown)"});
  EXPECT_EQ(Delta(RecordBuilder(90).Arg(1, 04755).Path("/x").Build()),
            std::vector<std::string>{"setuid bit set: runs as its owner (owner unknown)"});
  EXPECT_TRUE(Delta(RecordBuilder(90).Arg(1, 0644).Path("/x").Build()).empty());
  EXPECT_TRUE(Delta(RecordBuilder(90).Arg(1, 0777).Path("/x").Ret(-1).Build()).empty());
}

TEST(AccessDelta, Owner) {
  EXPECT_EQ(Delta(RecordBuilder(93)
                      .Arg(1, 0)
                      .Arg(2, 0xffffffff)
                      .Before(0104755, 4000000, 1000)
                      .After(0104755, 0, 1000)
                      .Build()),
            (std::vector<std::string>{"owner: uid 4000000 -> root (0)",
                                      "setuid file now runs as root (owner uid 0)"}));
  EXPECT_EQ(Delta(RecordBuilder(92).Arg(1, 0xffffffff).Arg(2, 4).Path("/x").Build()),
            std::vector<std::string>{"group: ? -> adm (4)"});
}

TEST(AccessDelta, CredsAndCaps) {
  auto b = RecordBuilder(105).Arg(0, 0);
  b.Flags(PS_OF_CREDS);
  b.ev.creds_before.uid = b.ev.creds_before.euid = b.ev.creds_before.suid = 1000;
  b.ev.creds_after.cap_effective = 1ull << 21;
  EXPECT_EQ(Delta(b.Build()),
            (std::vector<std::string>{"uid 1000 -> 0 (root)", "euid 1000 -> 0 (root)",
                                      "suid 1000 -> 0 (root)", "gained CAP_SYS_ADMIN"}));
  // setpriv --inh-caps after a uid switch: the effective set raised from the
  // permitted one it kept is no gain; an ambient capability is said.
  auto keep = RecordBuilder(126);
  keep.Flags(PS_OF_CREDS);
  keep.ev.creds_before.uid = keep.ev.creds_after.uid = 65534;
  keep.ev.creds_before.cap_permitted = keep.ev.creds_after.cap_permitted = 1ull << 10;
  keep.ev.creds_after.cap_effective = 1ull << 10;
  keep.ev.creds_after.cap_ambient = 1ull << 10;
  EXPECT_EQ(Delta(keep.Build()),
            (std::vector<std::string>{
                "raised from permitted CAP_NET_BIND_SERVICE",
                "ambient CAP_NET_BIND_SERVICE (kept across exec by unprivileged programs)"}));
  const uint32_t caps[5] = {0x02000001, 1u << 13, 0, 0, 0};
  EXPECT_EQ(Delta(RecordBuilder(188)
                      .Path("/bin/x")
                      .Name("security.capability")
                      .Value(std::string(reinterpret_cast<const char*>(caps), 20), 20)
                      .Build()),
            std::vector<std::string>{"runs with CAP_NET_RAW (effective at exec)"});
  EXPECT_EQ(Delta(RecordBuilder(197).Path("/bin/x").Name("security.capability").Build()),
            std::vector<std::string>{"file capabilities removed"});
}

}  // namespace
}  // namespace permsentry
