#include "common/syscall_table.h"

#include <gtest/gtest.h>
#include <sys/syscall.h>

#include <set>
#include <utility>

namespace permsentry {
namespace {

TEST(SyscallTable, NativeNumbersMatchLibc) {
  EXPECT_EQ(LookupSyscall(SYS_chmod, false)->name, "chmod");
  EXPECT_EQ(LookupSyscall(SYS_fchmod, false)->name, "fchmod");
  EXPECT_EQ(LookupSyscall(SYS_fchmodat, false)->name, "fchmodat");
  EXPECT_EQ(LookupSyscall(SYS_chown, false)->name, "chown");
  EXPECT_EQ(LookupSyscall(SYS_lchown, false)->name, "lchown");
  EXPECT_EQ(LookupSyscall(SYS_fchownat, false)->name, "fchownat");
  EXPECT_EQ(LookupSyscall(SYS_setresuid, false)->name, "setresuid");
  EXPECT_EQ(LookupSyscall(SYS_capset, false)->name, "capset");
  EXPECT_EQ(LookupSyscall(SYS_setgroups, false)->name, "setgroups");
  EXPECT_EQ(LookupSyscall(SYS_fremovexattr, false)->name, "fremovexattr");
  EXPECT_EQ(LookupSyscall(SYS_read, false), nullptr);
}

TEST(SyscallTable, NoDuplicateNumbers) {
  std::set<std::pair<int, bool>> seen;
  for (const SyscallInfo& s : AllSyscalls()) {
    EXPECT_TRUE(seen.insert({s.nr, s.compat}).second) << s.name;
    EXPECT_LT(s.nr, PS_NR_SLOTS);
  }
}

TEST(SyscallTable, BpfTablesAgree) {
  ps_sc_desc desc[PS_DESC_SLOTS];
  __u64 any[PS_NR_SLOTS / 64];
  FillBpfTables(desc, any);
  for (const SyscallInfo& s : AllSyscalls()) {
    const ps_sc_desc& d = desc[s.nr + (s.compat ? PS_NR_SLOTS : 0)];
    EXPECT_NE(d.kind, PS_SCK_NONE) << s.name;
    EXPECT_TRUE(any[s.nr / 64] & (1ull << (s.nr % 64))) << s.name;
    EXPECT_EQ(d.path_arg == PS_ARG_NONE, s.path_arg == kNoArg) << s.name;
  }
  EXPECT_EQ(desc[SYS_read].kind, PS_SCK_NONE);
  EXPECT_EQ(desc[SYS_setuid].kind, PS_SCK_CREDS);
  EXPECT_EQ(desc[SYS_setxattr].name_arg, 1);
  EXPECT_EQ(desc[SYS_setxattr].size_arg, 3);
  EXPECT_EQ(desc[SYS_fchmodat].mode_arg, 2);
}

}  // namespace
}  // namespace permsentry
