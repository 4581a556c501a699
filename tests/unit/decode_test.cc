#include "decode/decode.h"

#include <gtest/gtest.h>

#include "decode_or_fail.h"
#include "record_builder.h"

namespace permsentry {
namespace {

using testing::RecordBuilder;

const DecodeOptions kOpts{.boot_to_realtime_ns = 1'700'000'000'000'000'000};

TEST(Decode, ChmodSuccess) {
  auto rec = RecordBuilder(90).Arg(0, 0x7fff0000).Arg(1, 04755).Path("/tmp/x").Build();
  absl::StatusOr<OpEvent> ev = DecodeOpEvent(rec, kOpts);
  ASSERT_TRUE(ev.ok()) << ev.status();
  EXPECT_EQ(ev->sc->name, "chmod");
  EXPECT_EQ(ev->op, Op::kMode);
  EXPECT_EQ(ev->action, "chmod");
  EXPECT_EQ(ev->hook, Hook::kSyscall);
  EXPECT_FALSE(ev->compat);
  EXPECT_TRUE(ev->success());
  ASSERT_TRUE(ev->call.has_value());
  ASSERT_TRUE(ev->call->path.has_value());
  EXPECT_EQ(*ev->call->path, "/tmp/x");
  EXPECT_FALSE(ev->path.has_value());  // not resolved by the kernel
  EXPECT_EQ(ev->mode, 04755u);
  EXPECT_FALSE(ev->call->fd.has_value());
  EXPECT_EQ(ev->proc.pid, 4242u);
  EXPECT_EQ(ev->proc.comm, "tester");
  EXPECT_EQ(absl::ToUnixNanos(ev->time), 1'700'000'001'000'000'000);
}

TEST(Decode, FailureCarriesErrno) {
  auto rec = RecordBuilder(90).Arg(1, 0644).Path("/nope").Ret(-2).Build();
  absl::StatusOr<OpEvent> ev = DecodeOpEvent(rec, kOpts);
  ASSERT_TRUE(ev.ok());
  EXPECT_FALSE(ev->success());
  EXPECT_EQ(ev->error(), 2);
}

TEST(Decode, FchmodatDirfdAndFlags) {
  auto rec = RecordBuilder(452)
                 .Arg(0, static_cast<uint64_t>(-100))
                 .Arg(2, 0600)
                 .Arg(3, 0x100)
                 .Path("rel")
                 .Build();
  absl::StatusOr<OpEvent> ev = DecodeOpEvent(rec, kOpts);
  ASSERT_TRUE(ev.ok());
  EXPECT_EQ(ev->sc->name, "fchmodat2");
  EXPECT_EQ(ev->call->dirfd, -100);
  EXPECT_EQ(ev->call->at_flags, 0x100u);
  EXPECT_EQ(ev->mode, 0600u);
}

TEST(Decode, ChownUnchangedIdsAreAbsent) {
  auto rec = RecordBuilder(93).Arg(0, 5).Arg(1, 0).Arg(2, 0xffffffff).Build();
  absl::StatusOr<OpEvent> ev = DecodeOpEvent(rec, kOpts);
  ASSERT_TRUE(ev.ok());
  EXPECT_EQ(ev->sc->name, "fchown");
  EXPECT_EQ(ev->call->fd, 5);
  EXPECT_EQ(ev->owner, 0u);
  EXPECT_FALSE(ev->group.has_value());
}

TEST(Decode, Ia32SixteenBitIds) {
  // ia32 chown (182) takes 16-bit ids: 0xffff is "unchanged".
  auto rec = RecordBuilder(182, /*compat=*/true).Arg(1, 0xffff).Arg(2, 42).Path("/f").Build();
  absl::StatusOr<OpEvent> ev = DecodeOpEvent(rec, kOpts);
  ASSERT_TRUE(ev.ok());
  EXPECT_TRUE(ev->compat);
  EXPECT_EQ(ev->sc->name, "chown");
  EXPECT_TRUE(ev->sc->uid16);
  EXPECT_FALSE(ev->owner.has_value());
  EXPECT_EQ(ev->group, 42u);
}

TEST(Decode, Ia32NumberIsNotNative) {
  // 15 is chmod on ia32 but rt_sigreturn natively: unknown without the compat flag.
  auto native = RecordBuilder(15).Build();
  EXPECT_FALSE(DecodeOpEvent(native, kOpts).ok());
  auto compat = RecordBuilder(15, true).Path("/x").Build();
  absl::StatusOr<OpEvent> ev = DecodeOpEvent(compat, kOpts);
  ASSERT_TRUE(ev.ok());
  EXPECT_EQ(ev->sc->name, "chmod");
}

TEST(Decode, SetresuidCreds) {
  auto b = RecordBuilder(117).Arg(0, 0xffffffff).Arg(1, 0).Arg(2, 0xffffffff);
  b.Flags(PS_OF_CREDS);
  b.ev.creds_before.euid = 1000;
  b.ev.creds_after.euid = 0;
  b.ev.creds_after.cap_effective = 0x1ff;
  auto rec = b.Build();
  absl::StatusOr<OpEvent> ev = DecodeOpEvent(rec, kOpts);
  ASSERT_TRUE(ev.ok());
  EXPECT_EQ(ev->op, Op::kCreds);
  EXPECT_EQ(ev->action, "setresuid");
  EXPECT_EQ(ev->call->requested_ids, (std::vector<uint32_t>{kUnsetId, 0, kUnsetId}));
  ASSERT_TRUE(ev->creds_before && ev->creds_after);
  EXPECT_EQ(ev->creds_before->euid, 1000u);
  EXPECT_EQ(ev->creds_after->euid, 0u);
  EXPECT_EQ(ev->creds_after->cap_effective, 0x1ffu);
}

TEST(Decode, SetxattrNameAndValue) {
  auto rec = RecordBuilder(188)
                 .Arg(3, 4)
                 .Arg(4, 1)
                 .Path("/f")
                 .Name("user.k")
                 .Value(std::string("\x01\x00\x02\x03", 4), 4)
                 .Build();
  absl::StatusOr<OpEvent> ev = DecodeOpEvent(rec, kOpts);
  ASSERT_TRUE(ev.ok());
  EXPECT_EQ(*ev->call->path, "/f");
  EXPECT_EQ(*ev->xattr_name, "user.k");
  EXPECT_TRUE(ev->xattr_user_copy);
  EXPECT_EQ(*ev->xattr_value, std::string("\x01\x00\x02\x03", 4));
  EXPECT_EQ(ev->xattr_value_size, 4u);
  EXPECT_EQ(ev->xattr_flags, 1u);
}

TEST(Decode, PathFault) {
  auto rec = RecordBuilder(90).TrailerFlags(PS_TF_PATH | PS_TF_PATH_FAULT).Ret(-14).Build();
  absl::StatusOr<OpEvent> ev = DecodeOpEvent(rec, kOpts);
  ASSERT_TRUE(ev.ok());
  EXPECT_TRUE(ev->call->path_fault);
  EXPECT_FALSE(ev->call->path.has_value());
}

TEST(Decode, LongestPath) {
  const std::string p = "/" + std::string(4094, 'a');  // 4095 bytes: PATH_MAX minus NUL
  auto rec = RecordBuilder(90).Path(p).Build();
  absl::StatusOr<OpEvent> ev = DecodeOpEvent(rec, kOpts);
  ASSERT_TRUE(ev.ok());
  EXPECT_EQ(ev->call->path->size(), 4095u);
}

TEST(Decode, RejectsShortRecord) {
  auto rec = RecordBuilder(90).Build();
  rec.resize(100);
  absl::StatusOr<OpEvent> ev = DecodeOpEvent(rec, kOpts);
  EXPECT_FALSE(ev.ok());
  EXPECT_NE(ev.status().message().find("too short"), absl::string_view::npos);
}

TEST(Decode, RejectsWrongAbiVersion) {
  auto b = RecordBuilder(90);
  b.ev.hdr.abi_version = 99;
  auto rec = b.Build();
  EXPECT_EQ(DecodeOpEvent(rec, kOpts).status().code(), absl::StatusCode::kFailedPrecondition);
}

TEST(Decode, RejectsTailOverrun) {
  auto rec = RecordBuilder(90).Resolved("/abc", PS_PATH_OBJECT).Build();
  // Claim a longer path than the record holds.
  reinterpret_cast<ps_op_event*>(rec.data())->path_len = 1000;
  EXPECT_FALSE(DecodeOpEvent(rec, kOpts).ok());
  // A trailer whose own lengths disagree with its size.
  auto t = RecordBuilder(90).Path("/abc").Build();
  reinterpret_cast<ps_sc_trailer*>(t.data() + sizeof(ps_op_event))->path_len = 3;
  EXPECT_FALSE(DecodeOpEvent(t, kOpts).ok());
}

TEST(Decode, RejectsSizeFieldBeyondBuffer) {
  auto rec = RecordBuilder(90).Path("/abc").Build();
  reinterpret_cast<ps_op_event*>(rec.data())->hdr.size = 100000;
  EXPECT_FALSE(DecodeOpEvent(rec, kOpts).ok());
}

// Supplementary groups in the value slot: the count before (or unknown), its
// gids, then the gids after; a list that is not whole gids is refused.
TEST(Decode, SupplementaryGroupLists) {
  const auto rec = [](std::vector<uint32_t> words) {
    auto b = RecordBuilder::Rich(Op::kCreds, 116);
    b.Flags(PS_OF_CREDS | PS_OF_GROUPS);
    b.Value(std::string(reinterpret_cast<const char*>(words.data()), words.size() * 4),
            static_cast<uint32_t>(words.size() * 4));
    return b.Build();
  };
  OpEvent rich = testing::DecodeOrFail(rec({1, 100, 4, 27}));
  ASSERT_TRUE(rich.groups_before && rich.groups_after);
  EXPECT_EQ(*rich.groups_before, std::vector<uint32_t>{100});
  EXPECT_EQ(*rich.groups_after, (std::vector<uint32_t>{4, 27}));
  EXPECT_FALSE(rich.xattr_value);
  OpEvent tp = testing::DecodeOrFail(rec({PS_GROUPS_UNKNOWN, 4}));
  EXPECT_FALSE(tp.groups_before);
  EXPECT_EQ(*tp.groups_after, std::vector<uint32_t>{4});
  EXPECT_FALSE(DecodeOpEvent(rec({5, 1}), kOpts).ok());  // 5 before, 1 gid in all
}

TEST(Decode, RejectsUnknownSyscall) {
  // A trailer of arguments for read(2): the table cannot say what they mean.
  auto rec = RecordBuilder(0).Build();
  EXPECT_FALSE(DecodeOpEvent(rec, kOpts).ok());
  auto huge = RecordBuilder(100000).Build();
  EXPECT_FALSE(DecodeOpEvent(huge, kOpts).ok());
  // Without a trailer an unknown syscall is only a number (rich backend).
  OpEvent r = testing::DecodeOrFail(RecordBuilder::Rich(Op::kCreds, 250).Build());  // keyctl
  EXPECT_EQ(r.sc, nullptr);
  EXPECT_EQ(r.syscall_nr, 250u);
  EXPECT_EQ(r.action, "cred_change");
  auto bad_op = RecordBuilder::Rich(Op::kMode).Build();
  reinterpret_cast<ps_op_event*>(bad_op.data())->op = PS_OP_MAX;
  EXPECT_FALSE(DecodeOpEvent(bad_op, kOpts).ok());
}

}  // namespace
}  // namespace permsentry

namespace permsentry {
namespace {

// Found by the fuzzer: INT64_MIN as a return value must not be negated.
TEST(Decode, OutOfRangeReturnIsNotAnErrno) {
  auto rec = testing::RecordBuilder(90).Ret(INT64_MIN).Path("/x").Build();
  absl::StatusOr<OpEvent> ev = DecodeOpEvent(rec, DecodeOptions{});
  ASSERT_TRUE(ev.ok());
  EXPECT_TRUE(ev->success());
  EXPECT_EQ(ev->error(), 0);
  auto e = testing::RecordBuilder(90).Ret(-4095).Path("/x").Build();
  EXPECT_EQ(DecodeOpEvent(e, DecodeOptions{})->error(), 4095);
}

}  // namespace
}  // namespace permsentry

namespace permsentry {
namespace {

// Found by the fuzzer: the resolved path's length must count against the record.
TEST(Decode, RejectsResolvedPathOverrun) {
  auto rec = testing::RecordBuilder(91).Resolved("/etc/x", PS_PATH_OBJECT).Build();
  reinterpret_cast<ps_op_event*>(rec.data())->path2_len = 1536;
  absl::StatusOr<OpEvent> ev = DecodeOpEvent(rec, DecodeOptions{});
  EXPECT_FALSE(ev.ok());
  reinterpret_cast<ps_op_event*>(rec.data())->path2_len = PS_PATH_MAX + 1;
  EXPECT_FALSE(DecodeOpEvent(rec, DecodeOptions{}).ok());
}

}  // namespace
}  // namespace permsentry

namespace permsentry {
namespace {

TEST(Decode, SecondPathAndWatch) {
  OpEvent ev = testing::DecodeOrFail(testing::RecordBuilder(316)  // renameat2
                                         .Path("a")
                                         .Path2("b")
                                         .Resolved("/etc", PS_PATH_PARENT)
                                         .Watched(3, PS_WM_NAME | PS_WM_PATH2)
                                         .Lookup(PS_LK_DONE | PS_LK_ABSENT)
                                         .Build());
  EXPECT_EQ(ev.op, Op::kRename);
  EXPECT_EQ(ev.action, "credfile_rename");
  EXPECT_EQ(ev.call->path, "a");
  EXPECT_EQ(ev.call->path2, "b");
  EXPECT_EQ(ev.path, "/etc");
  EXPECT_EQ(ev.path_flags, PS_PATH_PARENT);
  ASSERT_TRUE(ev.watch);
  EXPECT_EQ(ev.watch->cls, 3u);
  EXPECT_EQ(ev.watch->how, PS_WM_NAME | PS_WM_PATH2);
  EXPECT_EQ(ev.call->lookup_flags, PS_LK_DONE | PS_LK_ABSENT);
}

TEST(Decode, Path2LengthIsChecked) {
  std::vector<uint8_t> rec = testing::RecordBuilder::Rich(Op::kRename)
                                 .Resolved("/a", PS_PATH_OBJECT)
                                 .Resolved2("/b", PS_PATH_OBJECT)
                                 .Build();
  ps_op_event raw;
  std::memcpy(&raw, rec.data(), sizeof(raw));
  raw.path2_len = PS_PATH_MAX;  // out of bounds
  std::memcpy(rec.data(), &raw, sizeof(raw));
  EXPECT_FALSE(DecodeOpEvent(rec, DecodeOptions{}).ok());
  raw.path2_len = 100;  // overruns the record
  std::memcpy(rec.data(), &raw, sizeof(raw));
  EXPECT_FALSE(DecodeOpEvent(rec, DecodeOptions{}).ok());
  raw.path2_len = 2;
  std::memcpy(rec.data(), &raw, sizeof(raw));
  OpEvent ok = testing::DecodeOrFail(rec);
  EXPECT_EQ(ok.path, "/a");
  EXPECT_EQ(ok.path2, "/b");
  EXPECT_FALSE(ok.call);
  EXPECT_EQ(ok.action, "rename");  // no watched file
}

TEST(Decode, IoUringOpcodes) {
  OpEvent ev =
      testing::DecodeOrFail(testing::RecordBuilder::IoUring(42).Path("/f").Name("user.x").Build());
  EXPECT_EQ(ev.sc->name, "io_uring_setxattr");
  EXPECT_TRUE(ev.sc->io_uring);
  EXPECT_TRUE(ev.io_uring);
  EXPECT_EQ(ev.op, Op::kXattrSet);
  EXPECT_EQ(ev.result, Result::kUnknown);
  absl::StatusOr<OpEvent> bad =
      DecodeOpEvent(testing::RecordBuilder::IoUring(7).Build(), DecodeOptions{});
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().message(),
            "argument trailer for io_uring opcode 7, which is not a watched operation");
}

// The rich backend: the kernel's objects, no trailer; a syscall when known.
TEST(Decode, RichRecord) {
  OpEvent ev = testing::DecodeOrFail(testing::RecordBuilder::Rich(Op::kMode, 268)
                                         .Resolved("/etc/x", PS_PATH_OBJECT)
                                         .Mode(04755)
                                         .Before(0100644, 0, 0)
                                         .After(0104755, 0, 0)
                                         .Build());
  EXPECT_EQ(ev.hook, Hook::kFentry);
  EXPECT_EQ(ev.sc->name, "fchmodat");
  EXPECT_FALSE(ev.call);
  EXPECT_EQ(ev.path, "/etc/x");
  EXPECT_EQ(ev.mode, 04755u);
  EXPECT_EQ(ev.inode_before->mode, 0100644u);
  EXPECT_EQ(ev.action, "chmod");

  OpEvent x = testing::DecodeOrFail(testing::RecordBuilder::Rich(Op::kExecCreds)
                                        .Text("/usr/bin/passwd")
                                        .Flags(PS_OF_CREDS)
                                        .Build());
  EXPECT_EQ(x.action, "exec_setid");
  EXPECT_EQ(x.text, "/usr/bin/passwd");
  EXPECT_FALSE(x.syscall_nr);
}

TEST(Decode, ProcRecords) {
  absl::StatusOr<ProcEvent> e =
      DecodeProcEvent(testing::ProcRecord(PS_PROC_EXEC, 10, "/usr/bin/bash", "CLAUDECODE=1", 10,
                                          PS_PF_SESSION_ROOT, PS_SIGNAL_ENV),
                      {});
  ASSERT_TRUE(e.ok()) << e.status();
  EXPECT_EQ(e->kind, ProcEvent::Kind::kExec);
  EXPECT_EQ(e->key.pid, 10u);
  EXPECT_EQ(e->key.start_ns, 1010u);
  EXPECT_EQ(e->session, e->key);
  EXPECT_EQ(e->exe, "/usr/bin/bash");
  EXPECT_EQ(e->text, "CLAUDECODE=1");
  EXPECT_EQ(e->signal, static_cast<uint32_t>(PS_SIGNAL_ENV));
  EXPECT_EQ(e->tty, (136u << 20) | 1);

  e = DecodeProcEvent(testing::ProcRecord(PS_PROC_FORK, 11), {});
  ASSERT_TRUE(e.ok()) << e.status();
  EXPECT_TRUE(e->session.empty());
  EXPECT_EQ(e->parent.pid, 1u);
}

TEST(Decode, ExecArguments) {
  using std::string_literals::operator""s;
  absl::StatusOr<ProcEvent> e =
      DecodeProcEvent(testing::ProcRecord(PS_PROC_EXEC, 10, "/bin/chmod", "", 0, 0, 0,
                                          "chmod\0"
                                          "0640\0/tmp/x\0"s),
                      {});
  ASSERT_TRUE(e.ok()) << e.status();
  EXPECT_EQ(e->exe, "/bin/chmod");
  EXPECT_EQ(e->args, (std::vector<std::string>{"chmod", "0640", "/tmp/x"}));
  EXPECT_FALSE(e->args_truncated);
  // Arguments and a session root's text together; the last argument cut.
  e = DecodeProcEvent(
      testing::ProcRecord(PS_PROC_EXEC, 10, "/usr/bin/node", "X=1", 10, PS_PF_SESSION_ROOT,
                          PS_SIGNAL_ENV, "node\0/very/lo"s, PS_PROC_ARGS_TRUNCATED),
      {});
  ASSERT_TRUE(e.ok()) << e.status();
  EXPECT_EQ(e->args, (std::vector<std::string>{"node", "/very/lo"}));
  EXPECT_TRUE(e->args_truncated);
  EXPECT_EQ(e->text, "X=1");
  // More arguments than the kernel ever sends.
  std::vector<uint8_t> r = testing::ProcRecord(PS_PROC_EXEC, 10, "/bin/sh", "", 0, 0, 0, "sh");
  reinterpret_cast<ps_proc_event*>(r.data())->args_len = PS_ARGS_MAX + 1;
  EXPECT_FALSE(DecodeProcEvent(r, {}).ok());
  // Arguments past the end of the record.
  r = testing::ProcRecord(PS_PROC_EXEC, 10, "/bin/sh", "", 0, 0, 0, "sh");
  reinterpret_cast<ps_proc_event*>(r.data())->args_len = 40;
  EXPECT_FALSE(DecodeProcEvent(r, {}).ok());
}

TEST(Decode, BadProcRecordsAreErrors) {
  std::vector<uint8_t> r = testing::ProcRecord(PS_PROC_EXEC, 10, "/bin/sh", "X=1");
  std::vector<uint8_t> cut(r.begin(), r.end() - 1);
  reinterpret_cast<ps_proc_event*>(cut.data())->hdr.size = static_cast<uint32_t>(cut.size());
  EXPECT_FALSE(DecodeProcEvent(cut, {}).ok());  // text overruns the record
  std::vector<uint8_t> bad = testing::ProcRecord(PS_PROC_FORK, 10);
  reinterpret_cast<ps_proc_event*>(bad.data())->kind = 9;
  EXPECT_FALSE(DecodeProcEvent(bad, {}).ok());
  EXPECT_EQ(RecordType(bad), PS_EV_PROC);
  EXPECT_FALSE(DecodeOpEvent(bad, {}).ok());  // a process record is not an operation
}

}  // namespace
}  // namespace permsentry

namespace permsentry {
namespace {

std::vector<uint8_t> RepeatsRecord(uint64_t id, uint64_t repeats, uint64_t first, uint64_t last,
                                   uint32_t flags) {
  ps_repeats_event r{};
  r.hdr.abi_version = PS_ABI_VERSION;
  r.hdr.type = PS_EV_REPEATS;
  r.hdr.size = sizeof(r);
  r.hdr.ktime = last + 5;
  r.coalesce_id = id;
  r.repeats = repeats;
  r.first_ktime = first;
  r.last_ktime = last;
  r.flags = flags;
  std::vector<uint8_t> out(sizeof(r));
  std::memcpy(out.data(), &r, sizeof(r));
  return out;
}

TEST(DecodeRepeats, CountAndTimes) {
  const DecodeOptions o{.boot_to_realtime_ns = 1'700'000'000'000'000'000};
  const auto rec = RepeatsRecord(0x1234'000101, 41, 2'000'000'000, 3'000'000'000, PS_RF_FINAL);
  EXPECT_EQ(RecordType(rec), PS_EV_REPEATS);
  absl::StatusOr<RepeatsEvent> r = DecodeRepeatsEvent(rec, o);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->coalesce_id, 0x1234'000101u);
  EXPECT_EQ(r->repeats, 41u);
  EXPECT_EQ(r->first, absl::FromUnixNanos(1'700'000'002'000'000'000));
  EXPECT_EQ(r->last, absl::FromUnixNanos(1'700'000'003'000'000'000));
  EXPECT_EQ(r->last_ktime_ns, 3'000'000'000u);
  EXPECT_TRUE(r->final);
  EXPECT_FALSE(DecodeRepeatsEvent(RepeatsRecord(7, 1, 5, 5, 0), o)->final);
}

TEST(DecodeRepeats, RejectsWhatTheKernelNeverSends) {
  const DecodeOptions o;
  // No id, no repeats, times backwards, short, another ABI.
  EXPECT_FALSE(DecodeRepeatsEvent(RepeatsRecord(0, 3, 1, 2, 0), o).ok());
  EXPECT_FALSE(DecodeRepeatsEvent(RepeatsRecord(9, 0, 1, 2, 0), o).ok());
  EXPECT_FALSE(DecodeRepeatsEvent(RepeatsRecord(9, 3, 5, 2, 0), o).ok());
  auto rec = RepeatsRecord(9, 3, 1, 2, 0);
  rec.resize(40);
  EXPECT_FALSE(DecodeRepeatsEvent(rec, o).ok());
  rec = RepeatsRecord(9, 3, 1, 2, 0);
  reinterpret_cast<ps_repeats_event*>(rec.data())->hdr.abi_version = 6;
  EXPECT_EQ(DecodeRepeatsEvent(rec, o).status().code(), absl::StatusCode::kFailedPrecondition);
}

TEST(DecodeRepeats, TheCoalesceIdOfAnOperation) {
  auto b = RecordBuilder(90);
  b.ev.coalesce_id = 0xabc'000205;
  absl::StatusOr<OpEvent> ev = DecodeOpEvent(b.Build(), DecodeOptions{});
  ASSERT_TRUE(ev.ok());
  EXPECT_EQ(ev->coalesce_id, 0xabc'000205u);
  EXPECT_EQ(ev->repeats, 0u);
}

}  // namespace
}  // namespace permsentry
