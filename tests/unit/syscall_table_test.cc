#include "common/syscall_table.h"

#include <gtest/gtest.h>
#include <sys/syscall.h>

#include <algorithm>
#include <set>
#include <string>
#include <utility>

#include "common/actions.h"

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

// Every action has its index, and the fast lookup agrees with a plain scan for
// every action, every prefix of one and some near misses: a rule's action mask
// and the per-action counters depend on it.
TEST(Actions, IndexOfEveryActionAndNoOther) {
  const std::vector<std::string>& actions = permsentry::Actions();
  ASSERT_LE(actions.size(), 64u) << "a rule's action mask is one 64-bit word";
  std::set<std::string> seen;
  for (size_t i = 0; i < actions.size(); ++i) {
    EXPECT_TRUE(seen.insert(actions[i]).second) << actions[i];
    EXPECT_EQ(permsentry::ActionIndex(actions[i]), static_cast<int>(i)) << actions[i];
    for (size_t n = 0; n < actions[i].size(); ++n) {
      const std::string prefix = actions[i].substr(0, n);
      if (seen.count(prefix) || std::count(actions.begin(), actions.end(), prefix)) continue;
      EXPECT_EQ(permsentry::ActionIndex(prefix), -1) << prefix;
    }
    EXPECT_EQ(permsentry::ActionIndex(actions[i] + "x"), -1) << actions[i];
    std::string changed = actions[i];
    changed[changed.size() / 2] ^= 0x20;
    EXPECT_EQ(permsentry::ActionIndex(changed), -1) << changed;
  }
  for (const char* a : {"chmod", "chown", "setxattr", "removexattr", "setresuid", "capset",
                        "exec_setid", "credfile_write", "clone", "mount"})
    EXPECT_GE(permsentry::ActionIndex(a), 0) << a;
  EXPECT_EQ(permsentry::ActionIndex(""), -1);
  EXPECT_EQ(permsentry::ActionIndex("unknown"), -1);
  // By address, for the table's static text: the same answers, first seen
  // and remembered.
  for (int round = 0; round < 2; ++round)
    for (const auto& list : {permsentry::AllSyscalls(), permsentry::AllIoUringOps()})
      for (const permsentry::SyscallInfo& s : list)
        EXPECT_EQ(permsentry::StaticActionIndex(s.action), permsentry::ActionIndex(s.action))
            << s.name;
  EXPECT_EQ(permsentry::StaticActionIndex("no_such_action"), -1);
}
