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
  absl::StatusOr<SyscallEvent> ev = DecodeSyscallEvent(rec, kOpts);
  ASSERT_TRUE(ev.ok()) << ev.status();
  EXPECT_EQ(ev->sc->name, "chmod");
  EXPECT_EQ(ev->sc->action, "chmod");
  EXPECT_FALSE(ev->compat);
  EXPECT_TRUE(ev->success());
  ASSERT_TRUE(ev->path.has_value());
  EXPECT_EQ(*ev->path, "/tmp/x");
  EXPECT_EQ(ev->mode, 04755u);
  EXPECT_FALSE(ev->fd.has_value());
  EXPECT_EQ(ev->proc.pid, 4242u);
  EXPECT_EQ(ev->proc.comm, "tester");
  EXPECT_EQ(absl::ToUnixNanos(ev->time), 1'700'000'001'000'000'000);
}

TEST(Decode, FailureCarriesErrno) {
  auto rec = RecordBuilder(90).Arg(1, 0644).Path("/nope").Ret(-2).Build();
  absl::StatusOr<SyscallEvent> ev = DecodeSyscallEvent(rec, kOpts);
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
  absl::StatusOr<SyscallEvent> ev = DecodeSyscallEvent(rec, kOpts);
  ASSERT_TRUE(ev.ok());
  EXPECT_EQ(ev->sc->name, "fchmodat2");
  EXPECT_EQ(ev->dirfd, -100);
  EXPECT_EQ(ev->at_flags, 0x100u);
  EXPECT_EQ(ev->mode, 0600u);
}

TEST(Decode, ChownUnchangedIdsAreAbsent) {
  auto rec = RecordBuilder(93).Arg(0, 5).Arg(1, 0).Arg(2, 0xffffffff).Build();
  absl::StatusOr<SyscallEvent> ev = DecodeSyscallEvent(rec, kOpts);
  ASSERT_TRUE(ev.ok());
  EXPECT_EQ(ev->sc->name, "fchown");
  EXPECT_EQ(ev->fd, 5);
  EXPECT_EQ(ev->owner, 0u);
  EXPECT_FALSE(ev->group.has_value());
}

TEST(Decode, Ia32SixteenBitIds) {
  // ia32 chown (182) takes 16-bit ids: 0xffff is "unchanged".
  auto rec = RecordBuilder(182, /*compat=*/true).Arg(1, 0xffff).Arg(2, 42).Path("/f").Build();
  absl::StatusOr<SyscallEvent> ev = DecodeSyscallEvent(rec, kOpts);
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
  EXPECT_FALSE(DecodeSyscallEvent(native, kOpts).ok());
  auto compat = RecordBuilder(15, true).Path("/x").Build();
  absl::StatusOr<SyscallEvent> ev = DecodeSyscallEvent(compat, kOpts);
  ASSERT_TRUE(ev.ok());
  EXPECT_EQ(ev->sc->name, "chmod");
}

TEST(Decode, SetresuidCreds) {
  auto b = RecordBuilder(117).Arg(0, 0xffffffff).Arg(1, 0).Arg(2, 0xffffffff);
  b.Flags(PS_SC_F_CREDS);
  b.ev.creds_before.euid = 1000;
  b.ev.creds_after.euid = 0;
  b.ev.creds_after.cap_effective = 0x1ff;
  auto rec = b.Build();
  absl::StatusOr<SyscallEvent> ev = DecodeSyscallEvent(rec, kOpts);
  ASSERT_TRUE(ev.ok());
  EXPECT_EQ(ev->requested_ids, (std::vector<uint32_t>{kUnsetId, 0, kUnsetId}));
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
  absl::StatusOr<SyscallEvent> ev = DecodeSyscallEvent(rec, kOpts);
  ASSERT_TRUE(ev.ok());
  EXPECT_EQ(*ev->path, "/f");
  EXPECT_EQ(*ev->xattr_name, "user.k");
  EXPECT_EQ(*ev->xattr_value, std::string("\x01\x00\x02\x03", 4));
  EXPECT_EQ(ev->xattr_value_size, 4u);
  EXPECT_EQ(ev->xattr_flags, 1u);
}

TEST(Decode, PathFault) {
  auto rec = RecordBuilder(90).Flags(PS_SC_F_PATH | PS_SC_F_PATH_FAULT).Ret(-14).Build();
  absl::StatusOr<SyscallEvent> ev = DecodeSyscallEvent(rec, kOpts);
  ASSERT_TRUE(ev.ok());
  EXPECT_TRUE(ev->path_fault);
  EXPECT_FALSE(ev->path.has_value());
}

TEST(Decode, LongestPath) {
  const std::string p = "/" + std::string(4094, 'a');  // 4095 bytes: PATH_MAX minus NUL
  auto rec = RecordBuilder(90).Path(p).Build();
  absl::StatusOr<SyscallEvent> ev = DecodeSyscallEvent(rec, kOpts);
  ASSERT_TRUE(ev.ok());
  EXPECT_EQ(ev->path->size(), 4095u);
}

TEST(Decode, RejectsShortRecord) {
  auto rec = RecordBuilder(90).Build();
  rec.resize(100);
  absl::StatusOr<SyscallEvent> ev = DecodeSyscallEvent(rec, kOpts);
  EXPECT_FALSE(ev.ok());
  EXPECT_NE(ev.status().message().find("too short"), absl::string_view::npos);
}

TEST(Decode, RejectsWrongAbiVersion) {
  auto b = RecordBuilder(90);
  b.ev.hdr.abi_version = 99;
  auto rec = b.Build();
  EXPECT_EQ(DecodeSyscallEvent(rec, kOpts).status().code(), absl::StatusCode::kFailedPrecondition);
}

TEST(Decode, RejectsTailOverrun) {
  auto rec = RecordBuilder(90).Path("/abc").Build();
  // Claim a longer path than the record holds.
  reinterpret_cast<ps_syscall_event*>(rec.data())->path_len = 200;
  EXPECT_FALSE(DecodeSyscallEvent(rec, kOpts).ok());
}

TEST(Decode, RejectsSizeFieldBeyondBuffer) {
  auto rec = RecordBuilder(90).Path("/abc").Build();
  reinterpret_cast<ps_syscall_event*>(rec.data())->hdr.size = 100000;
  EXPECT_FALSE(DecodeSyscallEvent(rec, kOpts).ok());
}

TEST(Decode, RejectsUnknownSyscall) {
  auto rec = RecordBuilder(0).Build();  // read(2)
  EXPECT_FALSE(DecodeSyscallEvent(rec, kOpts).ok());
  auto huge = RecordBuilder(100000).Build();
  EXPECT_FALSE(DecodeSyscallEvent(huge, kOpts).ok());
}

}  // namespace
}  // namespace permsentry

namespace permsentry {
namespace {

// Found by the fuzzer: INT64_MIN as a return value must not be negated.
TEST(Decode, OutOfRangeReturnIsNotAnErrno) {
  auto rec = testing::RecordBuilder(90).Ret(INT64_MIN).Path("/x").Build();
  absl::StatusOr<SyscallEvent> ev = DecodeSyscallEvent(rec, DecodeOptions{});
  ASSERT_TRUE(ev.ok());
  EXPECT_TRUE(ev->success());
  EXPECT_EQ(ev->error(), 0);
  auto e = testing::RecordBuilder(90).Ret(-4095).Path("/x").Build();
  EXPECT_EQ(DecodeSyscallEvent(e, DecodeOptions{})->error(), 4095);
}

}  // namespace
}  // namespace permsentry

namespace permsentry {
namespace {

// Found by the fuzzer: the resolved path's length must count against the record.
TEST(Decode, RejectsResolvedPathOverrun) {
  auto rec = testing::RecordBuilder(91).Resolved("/etc/x", PS_RES_OBJECT).Build();
  reinterpret_cast<ps_syscall_event*>(rec.data())->resolved_len = 1536;
  absl::StatusOr<SyscallEvent> ev = DecodeSyscallEvent(rec, DecodeOptions{});
  EXPECT_FALSE(ev.ok());
  reinterpret_cast<ps_syscall_event*>(rec.data())->resolved_len = PS_PATH_MAX + 1;
  EXPECT_FALSE(DecodeSyscallEvent(rec, DecodeOptions{}).ok());
}

}  // namespace
}  // namespace permsentry

namespace permsentry {
namespace {

TEST(Decode, SecondPathAndWatch) {
  SyscallEvent ev = testing::DecodeOrFail(testing::RecordBuilder(316)  // renameat2
                                              .Path("a")
                                              .Path2("b")
                                              .Resolved("/etc", PS_RES_PARENT)
                                              .Watched(3, PS_WM_NAME | PS_WM_PATH2)
                                              .Lookup(PS_LK_DONE | PS_LK_ABSENT)
                                              .Build());
  EXPECT_EQ(ev.sc->family, Family::kRename);
  EXPECT_EQ(ev.path, "a");
  EXPECT_EQ(ev.path2, "b");
  EXPECT_EQ(ev.resolved, "/etc");
  ASSERT_TRUE(ev.watch);
  EXPECT_EQ(ev.watch->cls, 3u);
  EXPECT_EQ(ev.watch->how, PS_WM_NAME | PS_WM_PATH2);
  EXPECT_EQ(ev.lookup_flags, PS_LK_DONE | PS_LK_ABSENT);
}

TEST(Decode, Path2LengthIsChecked) {
  std::vector<uint8_t> rec = testing::RecordBuilder(82).Path("a").Path2("b").Build();
  ps_syscall_event raw;
  std::memcpy(&raw, rec.data(), sizeof(raw));
  raw.path2_len = PS_PATH_MAX;  // out of bounds
  std::memcpy(rec.data(), &raw, sizeof(raw));
  EXPECT_FALSE(DecodeSyscallEvent(rec, DecodeOptions{}).ok());
  raw.path2_len = 100;  // overruns the record
  std::memcpy(rec.data(), &raw, sizeof(raw));
  EXPECT_FALSE(DecodeSyscallEvent(rec, DecodeOptions{}).ok());
}

TEST(Decode, IoUringOpcodes) {
  SyscallEvent ev = testing::DecodeOrFail(
      testing::RecordBuilder(42).Flags(PS_SC_F_IO_URING).Path("/f").Name("user.x").Build());
  EXPECT_EQ(ev.sc->name, "io_uring_setxattr");
  EXPECT_TRUE(ev.sc->io_uring);
  absl::StatusOr<SyscallEvent> bad = DecodeSyscallEvent(
      testing::RecordBuilder(7).Flags(PS_SC_F_IO_URING).Build(), DecodeOptions{});
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().message(), "io_uring opcode 7 is not a watched operation");
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

TEST(Decode, BadProcRecordsAreErrors) {
  std::vector<uint8_t> r = testing::ProcRecord(PS_PROC_EXEC, 10, "/bin/sh", "X=1");
  std::vector<uint8_t> cut(r.begin(), r.end() - 1);
  reinterpret_cast<ps_proc_event*>(cut.data())->hdr.size = static_cast<uint32_t>(cut.size());
  EXPECT_FALSE(DecodeProcEvent(cut, {}).ok());  // text overruns the record
  std::vector<uint8_t> bad = testing::ProcRecord(PS_PROC_FORK, 10);
  reinterpret_cast<ps_proc_event*>(bad.data())->kind = 9;
  EXPECT_FALSE(DecodeProcEvent(bad, {}).ok());
  EXPECT_EQ(RecordType(bad), PS_EV_PROC);
  EXPECT_FALSE(DecodeSyscallEvent(bad, {}).ok());  // a process record is not a syscall
}

}  // namespace
}  // namespace permsentry
