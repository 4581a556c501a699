// Rules without root: globs, message templates, conditions, the built-in pack
// against recorded events, escalation, exceptions, exclusions, coalescing, and
// every configuration error's message.
#include <fcntl.h>
#include <sys/stat.h>

#include <fstream>
#include <memory>
#include <string>
#include <vector>

#include "../common/acl_value.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "config/config.h"
#include "decode_or_fail.h"
#include "enrich/enrich.h"
#include "gtest/gtest.h"
#include "pipeline/coalesce.h"
#include "record_builder.h"
#include "rules/facts.h"
#include "rules/glob.h"
#include "rules/rules.h"
#include "rules/template.h"

namespace permsentry {
namespace {

using testing::AclValue;
using testing::DecodeOrFail;
using testing::kAclNoId;
using testing::RecordBuilder;

// ------------------------------------------------------------------ globs

bool G(const char* pattern, const char* subject) {
  absl::StatusOr<Glob> g = Glob::Compile(pattern, Glob::Kind::kPath);
  EXPECT_TRUE(g.ok()) << g.status();
  return g.ok() && g->Matches(subject);
}

TEST(Glob, StarStaysInItsComponent) {
  EXPECT_TRUE(G("/home/*/.ssh", "/home/alice/.ssh"));
  EXPECT_FALSE(G("/home/*/.ssh", "/home/alice/x/.ssh"));
  EXPECT_TRUE(G("/home/*/.*", "/home/alice/.bashrc"));
  EXPECT_FALSE(G("/home/*/.*", "/home/alice/bin"));
  EXPECT_TRUE(G("/tmp/a*b", "/tmp/ab"));
  EXPECT_TRUE(G("/tmp/a*b", "/tmp/axxb"));
  EXPECT_FALSE(G("/tmp/a*b", "/tmp/ax/b"));
}

TEST(Glob, DoubleStarCrossesComponents) {
  EXPECT_TRUE(G("/etc/**", "/etc/sudoers.d/x"));
  EXPECT_TRUE(G("/etc/**", "/etc/"));
  EXPECT_TRUE(G("/etc/**", "/etc"));  // the directory itself
  EXPECT_FALSE(G("/etc/**", "/etcetera"));
  EXPECT_TRUE(G("/a/**/b", "/a/b"));
  EXPECT_TRUE(G("/a/**/b", "/a/x/y/b"));
  EXPECT_FALSE(G("/a/**/b", "/a/xb"));
  EXPECT_TRUE(G("/**", "/anything/at/all"));
}

TEST(Glob, QuestionClassesAndEscapes) {
  EXPECT_TRUE(G("/tmp/f?", "/tmp/f1"));
  EXPECT_FALSE(G("/tmp/f?", "/tmp/f/"));
  EXPECT_TRUE(G("/tmp/[a-c]x", "/tmp/bx"));
  EXPECT_FALSE(G("/tmp/[a-c]x", "/tmp/dx"));
  EXPECT_TRUE(G("/tmp/[!a-c]x", "/tmp/dx"));
  EXPECT_TRUE(G("/tmp/[^a-c]x", "/tmp/dx"));
  EXPECT_TRUE(G("/tmp/[]]", "/tmp/]"));
  EXPECT_TRUE(G("/tmp/\\*", "/tmp/*"));
  EXPECT_FALSE(G("/tmp/\\*", "/tmp/x"));
  EXPECT_TRUE(G("/etc/passwd", "/etc/passwd"));
  EXPECT_FALSE(G("/etc/passwd", "/etc/passwd-"));
}

TEST(Glob, HostileSubjectsAreLinear) {
  // A backtracking matcher takes exponential time on this; the state set
  // takes one pass. (Correctness here; the bound is by construction.)
  const std::string subject = "/" + std::string(4000, 'a');
  EXPECT_FALSE(G("/*a*a*a*a*a*a*a*a*b", subject.c_str()));
  EXPECT_TRUE(G("/*a*a*a*a*a*a*a*a*", subject.c_str()));
  const std::string bytes = std::string("/tmp/\xff\n\x01") + std::string(100, '/');
  EXPECT_TRUE(G("/tmp/**", bytes.c_str()));
}

TEST(Glob, Errors) {
  const auto err = [](const char* p, Glob::Kind k = Glob::Kind::kPath) {
    absl::StatusOr<Glob> g = Glob::Compile(p, k);
    return g.ok() ? std::string("ok") : std::string(g.status().message());
  };
  EXPECT_EQ(err(""), "bad glob \"\": empty");
  EXPECT_EQ(err("etc/*"), "bad glob \"etc/*\": a path glob is absolute (starts with /)");
  EXPECT_EQ(err("etc/*", Glob::Kind::kName), "ok");
  EXPECT_EQ(err("/tmp/[ab"), "bad glob \"/tmp/[ab\": [ without its ]");
  EXPECT_EQ(err("/tmp/***"), "bad glob \"/tmp/***\": *** has no meaning (use * or **)");
  EXPECT_EQ(err("/tmp/a**"),
            "bad glob \"/tmp/a**\": ** must be a whole path component (\"/a/**/b\")");
  EXPECT_EQ(err("/tmp/x\\"), "bad glob \"/tmp/x\\\": ends with a lone backslash");
  EXPECT_EQ(err("/tmp/[z-a]"), "bad glob \"/tmp/[z-a]\": a range in [...] runs backwards");
}

// ------------------------------------------------------------------ judging events

std::shared_ptr<const Attribution> Agent(const char* agent = "claude",
                                         Attribution::Kind kind = Attribution::Kind::kAgent) {
  auto a = std::make_shared<Attribution>();
  a->kind = kind;
  a->agent = agent;
  a->session_id = "claude-100-1";
  a->root_pid = 100;
  a->ancestry = {{.pid = 4242, .name = "tester", .executable = "/usr/bin/tester"},
                 {.pid = 100, .name = "claude", .executable = "/usr/local/bin/claude"}};
  return a;
}

std::shared_ptr<const Attribution> Human(std::vector<AncestryEntry> ancestry) {
  auto a = std::make_shared<Attribution>();
  a->ancestry = std::move(ancestry);
  return a;
}

struct Judged {
  std::optional<Decision> d;
  std::string id() const { return d ? d->rule->id : "none"; }
  std::string severity() const { return d ? std::string(SeverityName(d->severity)) : "none"; }
};

class Rules : public ::testing::Test {
 protected:
  Judged Judge(OpEvent ev, std::shared_ptr<const Attribution> ai = nullptr,
               const RuleSet* set = nullptr) {
    ev.ai = ai ? ai : Human({{.pid = 4242, .name = "tester", .executable = "/usr/bin/tester"}});
    events_.push_back(std::make_unique<OpEvent>(std::move(ev)));
    const OpEvent& e = *events_.back();
    enriched_.push_back(std::make_unique<Enriched>(Enrich(e, names_, symlinks_, &watch_)));
    const Facts f = FactsOf(e, *enriched_.back());
    return Judged{(set ? *set : defaults_).Evaluate(f, names_)};
  }
  static OpEvent Chmod(const char* path, uint32_t before, uint32_t mode) {
    return DecodeOrFail(RecordBuilder(90)
                            .Arg(1, mode)
                            .Path(path)
                            .Before(S_IFREG | before, 0, 0)
                            .After(S_IFREG | mode, 0, 0)
                            .Build());
  }
  static OpEvent Setuid(uint32_t uid_before, uint32_t euid_before, uint32_t suid_before,
                        uint32_t uid_after, uint32_t euid_after) {
    auto b = RecordBuilder(117).Arg(0, uid_after).Arg(1, euid_after).Arg(2, uid_after);
    b.Flags(PS_OF_CREDS);
    b.ev.creds_before.uid = uid_before;
    b.ev.creds_before.euid = euid_before;
    b.ev.creds_before.suid = suid_before;
    b.ev.creds_after.uid = uid_after;
    b.ev.creds_after.euid = euid_after;
    b.ev.creds_after.suid = uid_after;
    return DecodeOrFail(b.Build());
  }

  RuleSet defaults_ = DefaultRuleSet();
  std::vector<WatchEntry> watch_ = DefaultWatchList();
  NameCache names_;
  SymlinkChecker symlinks_;
  std::vector<std::unique_ptr<OpEvent>> events_;
  std::vector<std::unique_ptr<Enriched>> enriched_;
};

TEST_F(Rules, BuiltinPackParses) {
  std::vector<std::string> ids;
  for (const Rule& r : defaults_.rules) ids.push_back(r.id);
  EXPECT_EQ(absl::StrJoin(ids, ","),
            "setid-bit-added,world-writable,setid-file-created,world-writable-created,"
            "device-node-outside-dev,open-mode-system-path,owner-root-user-writable,"
            "credfile-acl-grant,file-capabilities-set,credfile-changed,authorized-keys-changed,"
            "sudoers-changed,mount-covers-watched,path-changed-during-call,"
            "root-code-path-changed,privileged-group-gained,process-gained-root");
  EXPECT_EQ(defaults_.exclude.size(), 1u);
  for (const Rule& r : defaults_.rules) EXPECT_TRUE(r.builtin);
}

TEST_F(Rules, SetuidBitAddedNamesFileModesAndRoot) {
  const Judged j = Judge(Chmod("/tmp/x", 0755, 04755));
  EXPECT_EQ(j.id(), "setid-bit-added");
  EXPECT_EQ(j.severity(), "high");
  EXPECT_EQ(j.d->message,
            "setuid or setgid bit added: /tmp/x 0755 → 04755 by tester (pid 4242, uid 1000): "
            "setuid bit added: runs as root (owner uid 0)");
  // Kept: a setgid bit on a directory only sets the group of new files.
  EXPECT_EQ(Judge(DecodeOrFail(RecordBuilder(90)
                                   .Arg(1, 02775)
                                   .Path("/srv/shared")
                                   .Before(S_IFDIR | 0775, 0, 0)
                                   .After(S_IFDIR | 02775, 0, 0)
                                   .Build()))
                .id(),
            "none");
  // Already setuid: nothing added.
  EXPECT_EQ(Judge(Chmod("/tmp/x", 04755, 04750)).id(), "none");
  // A failed attempt is an event, not an alert (outcome defaults to success).
  EXPECT_EQ(
      Judge(DecodeOrFail(RecordBuilder(90).Arg(1, 04755).Path("/tmp/x").Ret(-1).Build())).id(),
      "none");
}

TEST_F(Rules, AgentAndAssistedEscalateOneStep) {
  const Judged agent = Judge(Chmod("/tmp/x", 0755, 04755), Agent());
  EXPECT_EQ(agent.severity(), "critical");
  EXPECT_EQ(agent.d->base, Severity::kHigh);
  EXPECT_EQ(agent.d->message,
            "setuid or setgid bit added: /tmp/x 0755 → 04755 by tester (pid 4242, uid 1000) [AI "
            "agent claude, session claude-100-1]: setuid bit added: runs as root (owner uid 0)");
  const Judged assisted =
      Judge(Chmod("/tmp/y", 0644, 0666), Agent("codex", Attribution::Kind::kAssisted));
  EXPECT_EQ(assisted.id(), "world-writable");
  EXPECT_EQ(assisted.severity(), "high");  // medium + 1
  EXPECT_NE(assisted.d->message.find("[assisted: beside AI agent codex"), std::string::npos);
}

TEST_F(Rules, WorldWritableWithoutSticky) {
  EXPECT_EQ(Judge(Chmod("/srv/x", 0644, 0646)).id(), "world-writable");
  EXPECT_EQ(Judge(Chmod("/srv/x", 0646, 0646)).id(), "none");  // not added
  EXPECT_EQ(Judge(DecodeOrFail(RecordBuilder(90)
                                   .Arg(1, 01777)
                                   .Path("/srv/drop")
                                   .Before(S_IFDIR | 0755, 0, 0)
                                   .After(S_IFDIR | 01777, 0, 0)
                                   .Build()))
                .id(),
            "none");  // sticky: the /tmp layout
  // Before unknown (not cached): taken as added.
  EXPECT_EQ(Judge(DecodeOrFail(RecordBuilder(90).Arg(1, 0666).Path("/srv/y").Build())).id(),
            "world-writable");
}

// Modes given at creation alert as a chmod to the same mode would: the
// effective mode (the new inode's) decides; a creation has every bit it holds
// as "added".
TEST_F(Rules, CreationsThatOpenAccess) {
  const auto created = [](uint32_t nr, const char* path, uint32_t type_mode) {
    return DecodeOrFail(
        RecordBuilder(nr).Path(path).Mode(type_mode & 07777).After(type_mode, 0, 0).Build());
  };
  auto open_creat = RecordBuilder(257).Arg(2, O_CREAT | O_WRONLY).Arg(3, 04755);
  open_creat.ev.op = PS_OP_CREATE;
  const OpEvent setuid_open = DecodeOrFail(
      open_creat.Path("/srv/backdoor").Mode(04755).After(S_IFREG | 04755, 0, 0).Build());
  EXPECT_EQ(setuid_open.action, "create");
  EXPECT_EQ(Judge(setuid_open).id(), "setid-file-created");
  EXPECT_EQ(Judge(setuid_open).severity(), "high");
  EXPECT_EQ(Judge(created(83, "/srv/drop", S_IFDIR | 0777)).id(), "world-writable-created");
  EXPECT_EQ(Judge(created(83, "/srv/drop", S_IFDIR | 01777)).id(), "none");  // sticky
  auto node = RecordBuilder(133).Path("/tmp/sda").Mode(0600).After(S_IFBLK | 0600, 0, 0);
  node.ev.rdev = 8u << 20;
  node.ev.flags |= PS_OF_RDEV;
  const OpEvent blk = DecodeOrFail(node.Build());
  const Judged j = Judge(blk);
  EXPECT_EQ(j.id(), "device-node-outside-dev");
  const Enriched en = Enrich(blk, names_, symlinks_, &watch_);
  EXPECT_NE(std::find(en.delta.begin(), en.delta.end(), "block device 8:0"), en.delta.end())
      << absl::StrJoin(en.delta, "; ");
  auto in_dev = RecordBuilder(133).Path("/dev/sdz").Mode(0600).After(S_IFBLK | 0600, 0, 0);
  EXPECT_EQ(Judge(DecodeOrFail(in_dev.Build())).id(), "none");
  // io_uring at submission: no result, no inode; the mode asked (umask applied).
  auto ring = RecordBuilder::IoUring(37).Arg(2, 0777).Path("/srv/ringdir").Mode(0777);
  EXPECT_EQ(Judge(DecodeOrFail(ring.Build())).id(), "world-writable-created");
}

TEST_F(Rules, OpenModesOnSystemPathsAndDotfiles) {
  for (const char* p : {"/etc/ssh/sshd_config", "/usr/bin/tool", "/boot/grub/grub.cfg",
                        "/home/alice/.bashrc", "/home/alice/.config/x", "/root/.profile"}) {
    const Judged j = Judge(Chmod(p, 0644, 0777));
    EXPECT_EQ(j.id(), "open-mode-system-path") << p;
    EXPECT_EQ(j.severity(), "high") << p;
    EXPECT_EQ(j.d->matched.size(), 2u) << p;  // world-writable too, the lesser
    EXPECT_EQ(j.d->matched[1]->id, "world-writable");
  }
  EXPECT_EQ(Judge(Chmod("/home/alice/src/x", 0644, 0666)).id(), "world-writable");
  EXPECT_EQ(Judge(Chmod("/etc/app.conf", 0644, 0664)).id(), "none");
}

TEST_F(Rules, OwnerToRootOnUserWritableFiles) {
  const auto chown_root = [](const char* path, uint32_t mode, uint32_t uid_before) {
    return DecodeOrFail(RecordBuilder(92)
                            .Arg(1, 0)
                            .Arg(2, 0xffffffff)
                            .Path(path)
                            .Before(S_IFREG | mode, uid_before, 54321)
                            .After(S_IFREG | mode, 0, 54321)
                            .Build());
  };
  const Judged j = Judge(chown_root("/srv/run.sh", 0775, 54321));
  EXPECT_EQ(j.id(), "owner-root-user-writable");
  EXPECT_EQ(j.d->message,
            "owner changed to root on a user-writable file: /srv/run.sh owner 54321 → root by "
            "tester (pid 4242, uid 1000): owner: uid 54321 -> root (0)");
  EXPECT_EQ(Judge(chown_root("/home/alice/tool", 0755, 54321)).id(), "owner-root-user-writable");
  EXPECT_EQ(Judge(chown_root("/srv/run.sh", 0755, 54321)).id(), "none");  // only root writes it
  EXPECT_EQ(Judge(chown_root("/tmp/f", 0666, 0)).id(), "none");           // root's already
}

TEST_F(Rules, AclGrantOnCredentialFiles) {
  const auto acl = [](const std::string& value, bool watched) {
    auto b = RecordBuilder(188)
                 .Path("/etc/shadow")
                 .Name("system.posix_acl_access")
                 .Value(value, static_cast<uint32_t>(value.size()))
                 .Before(S_IFREG | 0640, 0, 42);
    if (watched) b.Watched(1, PS_WM_OBJECT);
    return DecodeOrFail(b.Build());
  };
  const std::string nobody = AclValue({{0x01, 6, kAclNoId},
                                       {0x02, 4, 65534},
                                       {0x04, 4, kAclNoId},
                                       {0x10, 4, kAclNoId},
                                       {0x20, 0, kAclNoId}});
  const Judged j = Judge(acl(nobody, true));
  EXPECT_EQ(j.id(), "credfile-acl-grant");
  EXPECT_EQ(j.d->matched.size(), 2u);  // credfile-changed too
  // The owner's own named entry grants nothing new; the mask can take all away.
  EXPECT_EQ(Judge(acl(AclValue({{0x01, 6, kAclNoId},
                                {0x02, 6, 0},
                                {0x04, 4, kAclNoId},
                                {0x10, 4, kAclNoId},
                                {0x20, 0, kAclNoId}}),
                      true))
                .id(),
            "credfile-changed");
  EXPECT_EQ(Judge(acl(AclValue({{0x01, 6, kAclNoId},
                                {0x02, 6, 65534},
                                {0x04, 4, kAclNoId},
                                {0x10, 0, kAclNoId},
                                {0x20, 0, kAclNoId}}),
                      true))
                .id(),
            "credfile-changed");
  EXPECT_EQ(Judge(acl(nobody, false)).id(), "none");  // not a credential file
}

// An access ACL is a mode change: its owner, group (mask) and other entries
// are the mode's bits. `setfacl -m o::rwx` alerts as `chmod o+rwx` does;
// `setfacl -b` (a minimal ACL restating the mode) grants nothing.
TEST_F(Rules, AclThatChangesTheModeIsAModeChange) {
  const auto acl = [](const char* path, uint32_t before, const std::string& value) {
    auto b = RecordBuilder(188)
                 .Path(path)
                 .Name("system.posix_acl_access")
                 .Value(value, static_cast<uint32_t>(value.size()))
                 .Before(S_IFREG | before, 0, 0);
    return DecodeOrFail(b.Build());
  };
  const std::string o_rwx =
      AclValue({{0x01, 6, kAclNoId}, {0x04, 4, kAclNoId}, {0x20, 7, kAclNoId}});
  const Judged j = Judge(acl("/srv/x", 0644, o_rwx));
  EXPECT_EQ(j.id(), "world-writable");
  EXPECT_EQ(Judge(acl("/etc/x", 0644,
                      AclValue({{0x01, 7, kAclNoId}, {0x04, 7, kAclNoId}, {0x20, 7, kAclNoId}})))
                .id(),
            "open-mode-system-path");
  // A minimal ACL equal to the mode (setfacl -b), or one taking bits away.
  const std::string minimal =
      AclValue({{0x01, 6, kAclNoId}, {0x04, 4, kAclNoId}, {0x20, 4, kAclNoId}});
  EXPECT_EQ(Judge(acl("/srv/x", 0644, minimal)).id(), "none");
  // The same minimal ACL on the watched /etc/shadow, by its mode before.
  const auto on_shadow = [&](uint32_t before) {
    return DecodeOrFail(RecordBuilder(188)
                            .Path("/etc/shadow")
                            .Name("system.posix_acl_access")
                            .Value(minimal, static_cast<uint32_t>(minimal.size()))
                            .Before(S_IFREG | before, 0, 42)
                            .Watched(1, PS_WM_OBJECT)
                            .Build());
  };
  EXPECT_EQ(Judge(on_shadow(0644)).id(), "credfile-changed");  // not a grant
  // A world-readable other entry on a file that was not: a grant.
  EXPECT_EQ(Judge(on_shadow(0640)).id(), "credfile-acl-grant");
}

TEST_F(Rules, FileCapabilities) {
  // v2: magic 0x02000000 | effective, permitted CAP_NET_RAW (13), inheritable 0.
  std::string caps(20, '\0');
  const uint32_t words[5] = {0x02000001, 1u << 13, 0, 0, 0};
  memcpy(caps.data(), words, sizeof(words));
  const Judged j = Judge(DecodeOrFail(RecordBuilder(188)
                                          .Path("/usr/local/bin/ping")
                                          .Name("security.capability")
                                          .Value(caps, 20)
                                          .Build()));
  EXPECT_EQ(j.id(), "file-capabilities-set");
  EXPECT_EQ(j.d->message,
            "file capabilities set: /usr/local/bin/ping gets CAP_NET_RAW by tester (pid 4242, "
            "uid 1000): runs with CAP_NET_RAW (effective at exec)");
  // Removing them is not a grant.
  EXPECT_EQ(
      Judge(DecodeOrFail(
                RecordBuilder(197).Path("/usr/local/bin/ping").Name("security.capability").Build()))
          .id(),
      "none");
}

TEST_F(Rules, CredentialFilesByClass) {
  // Watch classes by index in the default list: 0 passwd, 4 sudoers, 12 ~/ authorized_keys.
  const auto write = [](const char* path, uint32_t cls) {
    return DecodeOrFail(RecordBuilder(257)
                            .Arg(2, 01 | 02000)  // O_WRONLY|O_APPEND
                            .Path(path)
                            .OpenFlags(01 | 02000)
                            .Ret(3)
                            .Watched(cls, PS_WM_OBJECT)
                            .Build());
  };
  ASSERT_EQ(watch_[0].cls, "passwd");
  ASSERT_EQ(watch_[4].cls, "sudoers");
  ASSERT_EQ(watch_[12].cls, "authorized_keys");
  const Judged passwd = Judge(write("/etc/passwd", 0));
  EXPECT_EQ(passwd.id(), "credfile-changed");
  EXPECT_EQ(passwd.severity(), "medium");
  EXPECT_EQ(passwd.d->message,
            "credential file changed (passwd): credfile_write \"/etc/passwd\" (openat "
            "O_WRONLY|O_APPEND) [credential file: passwd] by tester (pid 4242, uid 1000): opened "
            "for appending");
  EXPECT_EQ(Judge(write("/etc/sudoers", 4)).id(), "sudoers-changed");
  const Judged keys = Judge(write("/home/alice/.ssh/authorized_keys", 12), Agent());
  EXPECT_EQ(keys.id(), "authorized-keys-changed");
  EXPECT_EQ(keys.severity(), "critical");
}

// A gid becoming 0, or a privileged group taken by a process that was not
// root; a root daemon switching groups, or a set-group-id binary, is not one.
TEST_F(Rules, PrivilegedGroupGained) {
  const auto setgid = [](uint32_t uid, uint32_t gid_before, uint32_t gid_after) {
    auto b = RecordBuilder(119).Arg(0, gid_after).Arg(1, gid_after).Arg(2, gid_after);
    b.Flags(PS_OF_CREDS);
    b.ev.creds_before.uid = b.ev.creds_before.euid = b.ev.creds_before.suid = uid;
    b.ev.creds_before.gid = b.ev.creds_before.egid = b.ev.creds_before.sgid = gid_before;
    b.ev.creds_before.fsgid = gid_before;
    b.ev.creds_after = b.ev.creds_before;
    b.ev.creds_after.gid = b.ev.creds_after.egid = b.ev.creds_after.sgid = gid_after;
    b.ev.creds_after.fsgid = gid_after;
    return DecodeOrFail(b.Build());
  };
  EXPECT_EQ(Judge(setgid(1000, 1000, 0)).id(), "privileged-group-gained");
  EXPECT_EQ(Judge(setgid(1000, 1000, 4 /* adm on Debian */)).id(), "privileged-group-gained");
  EXPECT_EQ(Judge(setgid(1000, 1000, 1001)).id(), "none");
  EXPECT_EQ(Judge(setgid(0, 0, 4)).id(), "none");  // root already had everything
  auto exec = RecordBuilder::Rich(Op::kExecCreds, 59);
  exec.Flags(PS_OF_CREDS);
  exec.ev.creds_before.uid = exec.ev.creds_before.euid = 1000;
  exec.ev.creds_after = exec.ev.creds_before;
  exec.ev.creds_after.egid = 42;  // chage: set-group-id shadow
  EXPECT_EQ(Judge(DecodeOrFail(exec.Build())).id(), "none");
}

TEST_F(Rules, ProcessGainingRoot) {
  // su/sudo switching the real uid to 0, run by a human: the usual way up.
  auto sudo = Human({{.pid = 4242, .name = "sudo", .executable = "/usr/bin/sudo"}});
  EXPECT_EQ(Judge(Setuid(1000, 0, 0, 0, 0), sudo).id(), "none");
  // The same in an AI session: critical.
  auto agent_sudo = std::make_shared<Attribution>(*Agent());
  agent_sudo->ancestry[0] = {.pid = 4242, .name = "sudo", .executable = "/usr/bin/sudo"};
  const Judged j = Judge(Setuid(1000, 0, 0, 0, 0), agent_sudo);
  EXPECT_EQ(j.id(), "process-gained-root");
  EXPECT_EQ(j.severity(), "critical");
  // Anything else turning root.
  EXPECT_EQ(Judge(Setuid(1000, 1000, 1000, 1000, 0)).id(), "process-gained-root");
  // A daemon taking root back from its saved uid, or dropping it: not one.
  EXPECT_EQ(Judge(Setuid(0, 1000, 0, 0, 0)).id(), "none");
  EXPECT_EQ(Judge(Setuid(0, 0, 0, 1000, 1000)).id(), "none");
  // CAP_SYS_ADMIN gained through capset.
  auto b = RecordBuilder(126);
  b.Flags(PS_OF_CREDS);
  b.ev.creds_before.uid = b.ev.creds_before.euid = b.ev.creds_before.suid = 1000;
  b.ev.creds_after = b.ev.creds_before;
  b.ev.creds_after.cap_effective = b.ev.creds_after.cap_permitted = 1ull << 21;
  EXPECT_EQ(Judge(DecodeOrFail(b.Build())).id(), "process-gained-root");
  // Dropping privileges keeps nothing new: setpriv (or a daemon) switching to
  // an unprivileged uid with PR_SET_KEEPCAPS, then raising its effective set
  // from what it still held in the permitted one.
  auto drop = RecordBuilder(126);
  drop.Flags(PS_OF_CREDS);
  drop.ev.creds_before.uid = drop.ev.creds_before.euid = drop.ev.creds_before.suid = 65534;
  drop.ev.creds_before.cap_permitted = 1ull << 21 | 1ull << 12;
  drop.ev.creds_after = drop.ev.creds_before;
  drop.ev.creds_after.cap_effective = 1ull << 21;
  EXPECT_EQ(Judge(DecodeOrFail(drop.Build())).id(), "none");
  EXPECT_EQ(Judge(Setuid(0, 0, 0, 65534, 65534)).id(), "none");
  // Every capability inside a new user namespace (unshare, a rootless
  // container; seen by the rich backend): not a gain over the host.
  auto ns = RecordBuilder::Rich(Op::kCreds, 272);
  ns.Flags(PS_OF_CREDS);
  ns.ev.creds_before.uid = ns.ev.creds_before.euid = ns.ev.creds_before.suid = 1000;
  ns.ev.creds_before.userns = 4026531837u;
  ns.ev.creds_after = ns.ev.creds_before;
  ns.ev.creds_after.cap_effective = ns.ev.creds_after.cap_permitted = 0x1ffffffffffull;
  ns.ev.creds_after.userns = 4026532400u;
  EXPECT_EQ(Judge(DecodeOrFail(ns.Build())).id(), "none");
}

TEST_F(Rules, PackageManagersAreExcluded) {
  auto dpkg = Human({{.pid = 4242, .name = "chmod", .executable = "/usr/bin/chmod"},
                     {.pid = 4240, .name = "postinst", .executable = "/bin/sh"},
                     {.pid = 4200, .name = "dpkg", .executable = "/usr/bin/dpkg"}});
  EXPECT_EQ(Judge(Chmod("/usr/bin/newtool", 0755, 04755), dpkg).id(), "none");
  // A process merely named dpkg is not one.
  auto fake = Human({{.pid = 4242, .name = "chmod", .executable = "/usr/bin/chmod"},
                     {.pid = 4200, .name = "dpkg", .executable = "/tmp/dpkg"}});
  EXPECT_EQ(Judge(Chmod("/usr/bin/newtool", 0755, 04755), fake).id(), "setid-bit-added");
}

// ------------------------------------------------------------------ configured rules

absl::StatusOr<RuleSet> Parse(const std::string& yaml) {
  YAML::Node n = YAML::Load(yaml);
  return ParseRuleSet(n["rules"], "r.yaml");
}

std::string Error(const std::string& yaml) {
  absl::StatusOr<RuleSet> r = Parse(yaml);
  return r.ok() ? "ok" : std::string(r.status().message());
}

TEST_F(Rules, CustomRulesDisableAndReplace) {
  absl::StatusOr<RuleSet> set = Parse(R"yaml(rules:
  disable: [world-writable]
  custom:
    - id: setid-bit-added
      name: my setuid rule
      severity: low
      escalate: false
      match: {action: chmod, mode_added: setuid}
    - id: agent-anything
      name: an agent changed something under /srv
      severity: medium
      match:
        attribution: agent
        agent: "cl*"
        path: /srv/**
      message: "{ai.agent} touched {file.path} ({event.action}, {severity})"
)yaml");
  ASSERT_TRUE(set.ok()) << set.status();
  EXPECT_EQ(set->rules.size(), 17u);  // 17 built in, one disabled, one replaced, one added
  const Judged mine = Judge(Chmod("/tmp/x", 0755, 04755), Agent(), &*set);
  EXPECT_EQ(mine.id(), "setid-bit-added");
  EXPECT_EQ(mine.severity(), "low");                                           // escalate: false
  EXPECT_EQ(Judge(Chmod("/srv/x", 0644, 0646), nullptr, &*set).id(), "none");  // disabled
  const Judged srv = Judge(Chmod("/srv/x", 0644, 0600), Agent(), &*set);
  EXPECT_EQ(srv.id(), "agent-anything");
  EXPECT_EQ(srv.severity(), "high");
  EXPECT_EQ(srv.d->message, "claude touched /srv/x (chmod, high)");
  EXPECT_EQ(Judge(Chmod("/srv/x", 0644, 0600), Agent("codex"), &*set).id(), "none");
}

TEST_F(Rules, ExceptionsAndExclusions) {
  absl::StatusOr<RuleSet> set = Parse(R"yaml(rules:
  defaults: false
  default_exclusions: false
  exclude:
    - process_name: puppet
  custom:
    - id: any-chmod
      name: any chmod
      severity: low
      match: {action: chmod, outcome: any}
      except:
        - path: /var/cache/**
        - user: 0
)yaml");
  ASSERT_TRUE(set.ok()) << set.status();
  EXPECT_EQ(set->rules.size(), 1u);
  EXPECT_EQ(Judge(Chmod("/srv/a", 0644, 0600), nullptr, &*set).id(), "any-chmod");
  EXPECT_EQ(Judge(Chmod("/var/cache/a", 0644, 0600), nullptr, &*set).id(), "none");
  auto puppet = RecordBuilder(90).Arg(1, 0600).Path("/srv/a");
  std::memcpy(puppet.ev.proc.comm, "puppet", 7);
  EXPECT_EQ(Judge(DecodeOrFail(puppet.Build()), nullptr, &*set).id(), "none");
  auto root = RecordBuilder(90).Arg(1, 0600).Path("/srv/a");
  root.ev.proc.uid = 0;
  EXPECT_EQ(Judge(DecodeOrFail(root.Build()), nullptr, &*set).id(), "none");
  // outcome: any takes failures too.
  EXPECT_EQ(Judge(DecodeOrFail(RecordBuilder(90).Arg(1, 0600).Path("/srv/a").Ret(-1).Build()),
                  nullptr, &*set)
                .id(),
            "any-chmod");
}

TEST(RuleErrors, EveryMessage) {
  const auto rule = [](const std::string& body) {
    return Error("rules:\n  custom:\n    - id: r1\n      name: n\n      severity: low\n" + body);
  };
  EXPECT_EQ(rule("      match: {action: chmdo}\n"),
            "r.yaml:6: rule \"r1\": match.action: \"chmdo\" is not an action (known: chmod, "
            "chown, setuid, setgid, setreuid, setregid, setresuid, setresgid, setfsuid, "
            "setfsgid, setgroups, capset, exec_setid, unshare, setns, prctl, setxattr, "
            "removexattr, credfile_write, credfile_truncate, credfile_rename, credfile_link, "
            "credfile_symlink, credfile_unlink, mkdir, mknod, mount, umount, create, "
            "cred_change, write_open, truncate, rename, link, symlink, unlink, clone)");
  EXPECT_EQ(rule("      match: {mode_added: setuidd}\n"),
            "r.yaml:6: rule \"r1\": match.mode_added: \"setuidd\" is not one of setuid, setgid, "
            "sticky, owner_readable, owner_writable, owner_executable, group_readable, "
            "group_writable, group_executable, world_readable, world_writable, "
            "world_executable");
  EXPECT_EQ(rule("      match: {path: \"etc/*\"}\n"),
            "r.yaml:6: rule \"r1\": match.path: bad glob \"etc/*\": a path glob is absolute "
            "(starts with /)");
  EXPECT_EQ(rule("      match: {path: \"/etc/[x\"}\n"),
            "r.yaml:6: rule \"r1\": match.path: bad glob \"/etc/[x\": [ without its ]");
  EXPECT_TRUE(absl::StartsWith(rule("      match: {colour: red}\n"),
                               "r.yaml:6: rule \"r1\": match: unknown field \"colour\" (known: "
                               "action, syscall, outcome, path, "));
  EXPECT_EQ(rule("      match: {mode_is: 777}\n"),
            "r.yaml:6: rule \"r1\": match.mode_is: \"777\" is not an octal mode such as \"0777\" "
            "or \"04755\" (quote it: YAML reads 0777 as a number)");
  EXPECT_EQ(rule("      match: {file_caps: CAP_SYS_ADMN}\n"),
            "r.yaml:6: rule \"r1\": match.file_caps: \"CAP_SYS_ADMN\" is not a capability name "
            "(CAP_SYS_ADMIN, CAP_SETUID, ...; or any)");
  EXPECT_EQ(rule("      match: {attribution: robot}\n"),
            "r.yaml:6: rule \"r1\": match.attribution: \"robot\" is not one of none, agent, "
            "assisted, suspected");
  EXPECT_EQ(rule("      match: {watched: yes please}\n"),
            "r.yaml:6: rule \"r1\": match.watched: expected true or false");
  EXPECT_EQ(rule("      match: {syscall: chmood}\n"),
            "r.yaml:6: rule \"r1\": match.syscall: \"chmood\" is not a syscall permsentry watches");
  EXPECT_EQ(rule("      match: {owner_to: \"a b\"}\n"),
            "r.yaml:6: rule \"r1\": match.owner_to: \"a b\" is neither a number nor a name");
  EXPECT_EQ(rule("      match: {action: []}\n"),
            "r.yaml:6: rule \"r1\": match.action: expected a value or a list");
  EXPECT_EQ(rule("      match: []\n"),
            "r.yaml:6: rule \"r1\": match: expected a mapping or a list of mappings");
  EXPECT_TRUE(
      absl::StartsWith(rule("      match: {action: chmod}\n      message: \"{file.pth}\"\n"),
                       "r.yaml:7: rule \"r1\": message: unknown field {file.pth} (known: "
                       "file.path, file.mode, file.mode_before, "));
  EXPECT_EQ(rule("      match: {action: chmod}\n      message: \"{file.path\"\n"),
            "r.yaml:7: rule \"r1\": message: \"{\" without its \"}\" (\"{{\" for a brace)");
  EXPECT_EQ(rule("      match: {action: chmod}\n      colour: red\n"),
            "r.yaml:7: rule \"r1\": unknown key \"colour\" (known: id, name, description, "
            "severity, escalate, match, except, message)");
  EXPECT_EQ(rule("      except: {user: 0}\n"), "r.yaml:3: rule \"r1\": no match");
  EXPECT_EQ(Error("rules:\n  custom:\n    - id: r1\n      severity: low\n      match: {}\n"),
            "r.yaml:5: rule \"r1\": match: expected a mapping of event fields to values");
  EXPECT_EQ(Error("rules:\n  custom:\n    - id: R1\n"),
            "r.yaml:3: rule.id: 1 to 64 characters of a-z, 0-9, '-', '_' and '.', starting with "
            "a letter or digit");
  EXPECT_EQ(Error("rules:\n  custom:\n    - name: x\n"), "r.yaml:3: rule: no id");
  EXPECT_EQ(Error("rules:\n  custom:\n    - id: r1\n      name: n\n      severity: urgent\n"),
            "r.yaml:5: rule \"r1\": severity: expected low, medium, high or critical");
  EXPECT_EQ(Error("rules:\n  custom:\n    - id: r1\n      name: n\n      match: {action: chmod}\n"),
            "r.yaml:3: rule \"r1\": no severity");
  EXPECT_EQ(Error("rules:\n  disable: [nope]\n"),
            "r.yaml:2: rules.disable: no rule has the id \"nope\"");
  EXPECT_EQ(Error("rules:\n  coalesce_window_s: -1\n"),
            "r.yaml:2: rules.coalesce_window_s: expected a whole number of seconds in [0, 3600] "
            "(0: every alert goes out)");
  EXPECT_EQ(Error("rules:\n  files: [relative.yaml]\n"),
            "r.yaml:2: rules.files: \"relative.yaml\" is not an absolute path");
  EXPECT_EQ(Error("rules:\n  files: [/nonexistent/r.yaml]\n"),
            "r.yaml:2: rules.files: cannot read rule file /nonexistent/r.yaml");
  EXPECT_EQ(Error("rules:\n  colour: red\n"),
            "r.yaml:2: unknown key \"rules.colour\" (known: defaults, disable, "
            "default_exclusions, exclude, coalesce_window_s, files, custom)");
  EXPECT_EQ(Error("rules:\n  custom:\n    - id: a\n      name: n\n      severity: low\n"
                  "      match: {action: chmod}\n    - id: a\n      name: m\n      severity: low\n"
                  "      match: {action: chown}\n"),
            "r.yaml:7: rule id \"a\" is already used at r.yaml:3");
}

TEST(RuleFiles, LoadedByGlobAndChecked) {
  char tmpl[] = "/tmp/permsentry-rules-XXXXXX";
  ASSERT_NE(mkdtemp(tmpl), nullptr);
  const std::string dir = tmpl;
  std::ofstream(dir + "/a.yaml") << "rules:\n  - id: from-a\n    name: a\n    severity: low\n"
                                    "    match: {action: chmod}\n";
  std::ofstream(dir + "/b.yaml") << "rules:\n  - id: from-b\n    name: b\n    severity: low\n"
                                    "    match: {action: chown}\n";
  absl::StatusOr<RuleSet> set =
      Parse("rules:\n  defaults: false\n  files: [\"" + dir + "/*.yaml\"]\n");
  ASSERT_TRUE(set.ok()) << set.status();
  ASSERT_EQ(set->rules.size(), 2u);
  EXPECT_EQ(set->rules[0].id, "from-a");
  EXPECT_EQ(set->rules[0].origin, dir + "/a.yaml:2");
  // check-config knows a rule file from a config, and checks both.
  absl::StatusOr<std::string> r = CheckConfigFile(dir + "/a.yaml");
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(*r, dir + "/a.yaml: ok (rule file: 1 rules)");
  std::ofstream(dir + "/bad.yaml") << "rules:\n  - id: x\n    name: x\n    severity: low\n"
                                      "    match: {path: relative}\n";
  r = CheckConfigFile(dir + "/bad.yaml");
  EXPECT_EQ(r.status().message(),
            dir +
                "/bad.yaml:5: rule \"x\": match.path: bad glob \"relative\": a path glob is "
                "absolute (starts with /)");
  // A rule file given where a config is expected says so.
  absl::StatusOr<Config> c = LoadConfigFile(dir + "/a.yaml");
  EXPECT_EQ(c.status().message(),
            dir +
                "/a.yaml:1: this is a rule file (rules: a list), not a configuration: name it "
                "in the configuration's rules.files");
  (void)!system(("rm -rf '" + dir + "'").c_str());
}

TEST(RuleConfig, DefaultConfigPrintsAndParsesBack) {
  absl::StatusOr<Config> c = ParseConfig(DefaultConfigYaml(), "default");
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->rules.rules.size(), DefaultRuleSet().rules.size());
  EXPECT_EQ(c->rules.coalesce_window, absl::Seconds(10));
  EXPECT_TRUE(c->tail_enabled);
  EXPECT_EQ(c->tail.socket_path, "/run/permsentry/tail.sock");
  EXPECT_TRUE(c->sinks.empty());
  // Every built-in rule is in the printout, for people to copy.
  for (const Rule& r : DefaultRuleSet().rules)
    EXPECT_NE(DefaultConfigYaml().find("#   - id: " + r.id), std::string::npos) << r.id;
}

// ------------------------------------------------------------------ templates

TEST(Template, FieldsAndBraces) {
  absl::StatusOr<MessageTemplate> t = MessageTemplate::Parse("{{literal}} {rule.id}/{severity}");
  ASSERT_TRUE(t.ok());
  NameCache names;
  const OpEvent ev = DecodeOrFail(RecordBuilder(90).Arg(1, 0600).Path("/a\nb").Build());
  SymlinkChecker symlinks;
  const Enriched en = Enrich(ev, names, symlinks, nullptr);
  const Facts f = FactsOf(ev, en);
  const MessageTemplate::Context ctx{
      .facts = &f, .rule_id = "r", .rule_name = "n", .severity = "low", .names = &names};
  EXPECT_EQ(t->Render(ctx), "{literal} r/low");
  // Chosen bytes stay on one line; unknown values say so.
  absl::StatusOr<MessageTemplate> p =
      MessageTemplate::Parse("{file.path} {file.mode_before} {ai.agent} {process.executable}");
  ASSERT_TRUE(p.ok());
  EXPECT_EQ(p->Render(ctx), "/a\\nb ? none ?");
  EXPECT_FALSE(MessageTemplate::Parse("a } b").ok());
}

// ------------------------------------------------------------------ coalescing

TEST(Coalesce, FirstGoesOutRepeatsAreCountedIntoOneSummary) {
  Coalescer c(absl::Seconds(10));
  const absl::Time t0 = absl::FromUnixSeconds(1000);
  const CoalesceKey k{.rule_id = "r", .process = {.pid = 1, .start_ns = 2}, .path = "/x"};
  OpEvent ev;
  AlertInfo a{.rule_id = "r"};
  EXPECT_TRUE(c.Admit(k, t0, ev, a));
  for (int i = 1; i <= 41; ++i) EXPECT_FALSE(c.Admit(k, t0 + absl::Milliseconds(100 * i), ev, a));
  // Another path, process or rule is another alert.
  CoalesceKey other = k;
  other.path = "/y";
  EXPECT_TRUE(c.Admit(other, t0, ev, a));
  EXPECT_TRUE(c.Collect(t0 + absl::Seconds(5)).empty());  // window still open
  std::vector<Coalescer::Summary> s = c.Collect(t0 + absl::Seconds(10));
  ASSERT_EQ(s.size(), 1u);
  EXPECT_EQ(s[0].repeats, 41u);
  EXPECT_EQ(s[0].key.path, "/x");
  EXPECT_EQ(s[0].first, t0);
  ASSERT_TRUE(s[0].repeat);
  // Repeats that go on are summarised again, not alerted afresh.
  EXPECT_FALSE(c.Admit(k, t0 + absl::Seconds(11), ev, a));
  s = c.Collect(t0 + absl::Seconds(20));
  ASSERT_EQ(s.size(), 1u);
  EXPECT_EQ(s[0].repeats, 1u);
  // Quiet for a whole window: forgotten; the next one alerts at once.
  EXPECT_TRUE(c.Collect(t0 + absl::Seconds(40)).empty());
  EXPECT_EQ(c.keys(), 0u);
  EXPECT_TRUE(c.Admit(k, t0 + absl::Seconds(41), ev, a));
}

TEST(Coalesce, FullTableSendsEverything) {
  Coalescer c(absl::Seconds(10), /*max_keys=*/2);
  OpEvent ev;
  AlertInfo a;
  const absl::Time t0 = absl::FromUnixSeconds(1000);
  for (int i = 0; i < 5; ++i) {
    const CoalesceKey k{
        .rule_id = "r", .process = {.pid = 1, .start_ns = 2}, .path = absl::StrCat("/", i)};
    EXPECT_TRUE(c.Admit(k, t0, ev, a));
  }
  EXPECT_EQ(c.untracked(), 3u);
  // Off: every alert goes out.
  Coalescer off(absl::ZeroDuration());
  const CoalesceKey k{.rule_id = "r", .process = {.pid = 1, .start_ns = 2}, .path = "/x"};
  EXPECT_TRUE(off.Admit(k, t0, ev, a));
  EXPECT_TRUE(off.Admit(k, t0, ev, a));
}

}  // namespace
}  // namespace permsentry
