#include "watch/watch_list.h"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <string>

namespace permsentry {
namespace {

// A scratch tree in /tmp, removed afterwards. No root needed.
class WatchListTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/permsentry-watch-XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    root_ = tmpl;
  }
  void TearDown() override { std::system(("rm -rf '" + root_ + "'").c_str()); }

  std::string P(const std::string& rel) const { return root_ + "/" + rel; }
  void Touch(const std::string& rel) const { std::ofstream(P(rel)) << "x"; }
  InodeId Id(const std::string& rel, bool follow = false) const {
    struct stat st;
    EXPECT_EQ((follow ? stat : lstat)(P(rel).c_str(), &st), 0) << rel;
    return InodeId{.ino = st.st_ino, .dev = KernelDev(st.st_dev)};
  }
  WatchEntry E(const std::string& rel, const std::string& cls) const {
    absl::StatusOr<WatchEntry> e = MakeWatchEntry(P(rel), cls);
    EXPECT_TRUE(e.ok()) << e.status();
    return *e;
  }

  std::string root_;
};

TEST_F(WatchListTest, FileEntryWatchesInodeNameAndParent) {
  ASSERT_EQ(mkdir(P("etc").c_str(), 0755), 0);
  Touch("etc/passwd");
  const KernelWatch kw = BuildKernelWatch({E("etc/passwd", "passwd")});
  EXPECT_EQ(kw.paths_present, 1u);
  ASSERT_TRUE(kw.inodes.contains(Id("etc/passwd")));
  EXPECT_EQ(kw.inodes.at(Id("etc/passwd")).flags, PS_WF_OBJECT);
  ASSERT_TRUE(kw.inodes.contains(Id("etc")));
  EXPECT_EQ(kw.inodes.at(Id("etc")).flags, PS_WF_NAMES);  // not every entry of etc
  EXPECT_TRUE(kw.names.contains(NameInDir{.dir = Id("etc"), .name = "passwd"}));
  EXPECT_EQ(kw.filter.at("passwd"), PS_NF_LAST);
}

TEST_F(WatchListTest, MissingFileIsWatchedByName) {
  ASSERT_EQ(mkdir(P("ssh").c_str(), 0700), 0);
  const KernelWatch kw = BuildKernelWatch({E("ssh/authorized_keys", "authorized_keys")});
  EXPECT_EQ(kw.paths_present, 0u);
  EXPECT_TRUE(kw.names.contains(NameInDir{.dir = Id("ssh"), .name = "authorized_keys"}));
  // The directory, and its parent, which holds it by name ("ssh/authorized_keys")
  // for a replacement made after this refresh.
  EXPECT_EQ(kw.inodes.size(), 2u);
  EXPECT_TRUE(kw.names.contains(NameInDir{.dir = Id(""), .name = "ssh/authorized_keys"}));
  EXPECT_EQ(kw.inodes.at(Id("")).flags, PS_WF_SUBNAMES);
}

// A home without .ssh yet: its .ssh is watched by name from the first write.
TEST_F(WatchListTest, MissingDirectoryIsWatchedByNameInItsParent) {
  ASSERT_EQ(mkdir(P("home").c_str(), 0755), 0);
  const KernelWatch kw = BuildKernelWatch({E("home/.ssh/authorized_keys", "authorized_keys")});
  EXPECT_TRUE(kw.names.contains(NameInDir{.dir = Id("home"), .name = ".ssh/authorized_keys"}));
  EXPECT_EQ(kw.inodes.at(Id("home")).flags, PS_WF_SUBNAMES);
}

TEST_F(WatchListTest, DirectoryEntryWatchesEveryEntry) {
  ASSERT_EQ(mkdir(P("sudoers.d").c_str(), 0750), 0);
  Touch("sudoers.d/a");
  Touch("sudoers.d/b");
  const KernelWatch kw = BuildKernelWatch({E("sudoers.d/", "sudoers")});
  EXPECT_EQ(kw.inodes.at(Id("sudoers.d")).flags, PS_WF_OBJECT | PS_WF_ALL_ENTRIES);
  EXPECT_EQ(kw.inodes.at(Id("sudoers.d/a")).flags, PS_WF_OBJECT);
  EXPECT_EQ(kw.inodes.at(Id("sudoers.d/b")).flags, PS_WF_OBJECT);
  EXPECT_EQ(kw.filter.at("sudoers.d"), PS_NF_LAST | PS_NF_DIR);
  // Renaming the directory itself away is a change at a watched name.
  EXPECT_TRUE(kw.names.contains(NameInDir{.dir = Id(""), .name = "sudoers.d"}));
  // Every entry of a sudoers.d made there after this refresh.
  EXPECT_TRUE(kw.names.contains(NameInDir{.dir = Id(""), .name = "sudoers.d/"}));
  EXPECT_EQ(kw.inodes.at(Id("")).flags, PS_WF_NAMES | PS_WF_SUBNAMES);
}

TEST_F(WatchListTest, SymlinkWatchesLinkAndTarget) {
  Touch("real");
  ASSERT_EQ(symlink(P("real").c_str(), P("link").c_str()), 0);
  const KernelWatch kw = BuildKernelWatch({E("link", "custom")});
  EXPECT_TRUE(kw.inodes.contains(Id("link")));
  EXPECT_TRUE(kw.inodes.contains(Id("real")));
}

TEST_F(WatchListTest, GlobAndFirstEntryWins) {
  ASSERT_EQ(mkdir(P("h1").c_str(), 0755), 0);
  ASSERT_EQ(mkdir(P("h2").c_str(), 0755), 0);
  Touch("h1/keys");
  const KernelWatch kw = BuildKernelWatch({E("h1/keys", "first"), E("h*/keys", "second")});
  EXPECT_EQ(kw.inodes.at(Id("h1/keys")).cls, 0u);  // both cover it: the first wins
  EXPECT_EQ(kw.names.at(NameInDir{.dir = Id("h2"), .name = "keys"}).cls, 1u);
}

TEST_F(WatchListTest, HomesExpandFromPasswordDatabase) {
  const WatchEntry e = *MakeWatchEntry("~/.ssh/authorized_keys", "authorized_keys");
  const std::vector<std::string> paths = ExpandWatchEntry(e);
  // root's home is in every password database this runs on.
  EXPECT_NE(std::find(paths.begin(), paths.end(), "/root/.ssh/authorized_keys"), paths.end());
}

TEST(WatchEntryTest, Validation) {
  EXPECT_FALSE(MakeWatchEntry("relative", "x").ok());
  EXPECT_FALSE(MakeWatchEntry("/", "x").ok());
  EXPECT_FALSE(MakeWatchEntry("/a//b", "x").ok());
  EXPECT_FALSE(MakeWatchEntry("/a/./b", "x").ok());
  EXPECT_FALSE(MakeWatchEntry("/a", "").ok());
  EXPECT_TRUE(MakeWatchEntry("/a/b/", "x")->directory);
  EXPECT_FALSE(MakeWatchEntry("/a/b", "x")->directory);
}

TEST(WatchEntryTest, DefaultListIsValid) {
  for (const WatchEntry& e : DefaultWatchList()) {
    EXPECT_TRUE(MakeWatchEntry(e.pattern, e.cls).ok()) << e.pattern;
  }
}

}  // namespace
}  // namespace permsentry
