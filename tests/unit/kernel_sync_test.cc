// The watch and attribution stages fill a backend's kernel tables through the
// KernelTable interface: tested here against an in-memory table, no kernel.
#include <gtest/gtest.h>

#include <cstring>
#include <map>
#include <string>
#include <vector>

#include "attribute/kernel_sync.h"
#include "watch/kernel_sync.h"

namespace permsentry {
namespace {

class FakeTable : public KernelTable {
 public:
  FakeTable(std::string name, size_t key, size_t value, size_t max)
      : name_(std::move(name)), key_(key), value_(value), max_(max) {}
  absl::string_view name() const override { return name_; }
  size_t key_size() const override { return key_; }
  size_t value_size() const override { return value_; }
  absl::Status Update(const void* k, const void* v) override {
    const std::string key(static_cast<const char*>(k), key_);
    if (!rows.contains(key) && rows.size() >= max_)
      return absl::ResourceExhaustedError(absl::StrCat(name_, " full"));
    rows[key] = std::string(static_cast<const char*>(v), value_);
    ++writes;
    return absl::OkStatus();
  }
  absl::Status UpdateExisting(const void* k, const void* v) override {
    const std::string key(static_cast<const char*>(k), key_);
    if (!rows.contains(key)) return absl::NotFoundError("absent");
    return Update(k, v);
  }
  absl::Status Delete(const void* k) override {
    rows.erase(std::string(static_cast<const char*>(k), key_));
    ++writes;
    return absl::OkStatus();
  }
  bool Lookup(const void* k, void* v) const override {
    auto it = rows.find(std::string(static_cast<const char*>(k), key_));
    if (it == rows.end()) return false;
    std::memcpy(v, it->second.data(), value_);
    return true;
  }
  void ForEachKey(const std::function<void(const void*)>& fn) const override {
    std::vector<std::string> keys;
    for (const auto& [k, v] : rows) keys.push_back(k);
    for (const std::string& k : keys) fn(k.data());
  }

  std::map<std::string, std::string> rows;
  int writes = 0;

 private:
  std::string name_;
  size_t key_, value_, max_;
};

struct Tables {
  FakeTable inodes{"watch_inodes", sizeof(ps_watch_key), sizeof(ps_watch_val), 100};
  FakeTable names{"watch_names", sizeof(ps_watch_name_key), sizeof(ps_watch_val), 100};
  FakeTable filter{"watch_filter", sizeof(ps_watch_filter_key), sizeof(uint32_t), 100};
  FakeTable paths{"ai_paths", sizeof(uint64_t), sizeof(ps_ai_path_val), 4};
  FakeTable env{"ai_env", sizeof(uint64_t), sizeof(ps_ai_env_val), 100};
  FakeTable procs{"procs", sizeof(ps_proc_key), sizeof(ps_proc_info), 100};
  KernelTables View(bool with_filter = true) {
    return KernelTables{.watch_inodes = &inodes,
                        .watch_names = &names,
                        .watch_filter = with_filter ? &filter : nullptr,
                        .ai_paths = &paths,
                        .ai_env = &env,
                        .procs = &procs};
  }
};

KernelWatch Watch(std::vector<uint64_t> inodes, std::vector<std::string> names) {
  KernelWatch w;
  for (uint64_t i : inodes) w.inodes[InodeId{.ino = i, .dev = 8}] = WatchVal{.cls = 1, .flags = 1};
  for (const std::string& n : names) {
    w.names[NameInDir{.dir = InodeId{.ino = 2, .dev = 8}, .name = n}] = WatchVal{.cls = 2};
    w.filter[n] = PS_NF_LAST;
  }
  return w;
}

TEST(WatchSync, WritesOnlyWhatChanged) {
  Tables t;
  WatchSync sync(t.View());
  ASSERT_TRUE(sync.Apply(Watch({10, 11}, {"shadow"})).ok());
  EXPECT_EQ(t.inodes.rows.size(), 2u);
  EXPECT_EQ(t.names.rows.size(), 1u);
  EXPECT_EQ(t.filter.rows.size(), 1u);
  const int writes = t.inodes.writes + t.names.writes + t.filter.writes;
  ASSERT_TRUE(sync.Apply(Watch({10, 11}, {"shadow"})).ok());
  EXPECT_EQ(t.inodes.writes + t.names.writes + t.filter.writes, writes);  // nothing new
  ASSERT_TRUE(sync.Apply(Watch({11, 12}, {})).ok());
  EXPECT_EQ(t.inodes.rows.size(), 2u);
  EXPECT_TRUE(t.names.rows.empty());
  EXPECT_TRUE(t.filter.rows.empty());
}

// An inode the kernel added itself (what a rename put at a watched name) that
// the file system no longer shows at a watched place goes at the next refresh.
TEST(WatchSync, DropsInodesTheKernelAddedThatAreGone) {
  Tables t;
  WatchSync sync(t.View());
  ASSERT_TRUE(sync.Apply(Watch({10}, {})).ok());
  const ps_watch_key k{.ino = 99, .dev = 8, ._pad0 = 0};
  const ps_watch_val v{.cls = 1, .flags = PS_WF_OBJECT};
  ASSERT_TRUE(t.inodes.Update(&k, &v).ok());
  ASSERT_TRUE(sync.Apply(Watch({10}, {})).ok());
  EXPECT_EQ(t.inodes.rows.size(), 1u);
}

// The rich backend has no name filter: the rest is filled all the same.
TEST(WatchSync, BackendWithoutAFilter) {
  Tables t;
  WatchSync sync(t.View(/*with_filter=*/false));
  ASSERT_TRUE(sync.Apply(Watch({10}, {"shadow"})).ok());
  EXPECT_EQ(t.names.rows.size(), 1u);
  EXPECT_TRUE(t.filter.rows.empty());
}

TEST(AttributionSync, SignaturesAndAFullTable) {
  Tables t;
  AttributionSync sync(t.View());
  KernelSignatures s;
  for (uint64_t k = 1; k <= 3; ++k) s.paths[k] = ps_ai_path_val{.sig = 1, .flags = PS_AIP_AGENT};
  ASSERT_TRUE(sync.SetSignatures(s).ok());
  EXPECT_EQ(t.paths.rows.size(), 3u);
  s.paths.erase(1);
  ASSERT_TRUE(sync.SetSignatures(s).ok());
  EXPECT_EQ(t.paths.rows.size(), 2u);
  for (uint64_t k = 10; k < 20; ++k) s.paths[k] = ps_ai_path_val{.sig = 1, .flags = PS_AIP_AGENT};
  const absl::Status full = sync.SetSignatures(s);
  EXPECT_EQ(full.code(), absl::StatusCode::kResourceExhausted);
  EXPECT_NE(full.message().find("agent signature paths: ai_paths full (12 entries)"),
            absl::string_view::npos)
      << full;
}

TEST(AttributionSync, ProcessTableReadBackAndWritten) {
  Tables t;
  AttributionSync sync(t.View());
  const ps_proc_key k{.tgid = 42, ._pad0 = 0, .start = 7};
  ps_proc_info info{};
  info.flags = PS_PF_SEEDED;
  ASSERT_TRUE(t.procs.Update(&k, &info).ok());
  std::vector<KernelProc> procs = sync.ReadProcs();
  ASSERT_EQ(procs.size(), 1u);
  EXPECT_EQ(procs[0].key.tgid, 42u);
  EXPECT_EQ(sync.CountProcs(), 1u);
  procs[0].info.session = k;
  ASSERT_TRUE(sync.WriteProc(procs[0]).ok());
  ps_proc_info back{};
  ASSERT_TRUE(t.procs.Lookup(&k, &back));
  EXPECT_EQ(back.session.tgid, 42u);
  // A process that exited meanwhile stays gone.
  t.procs.rows.clear();
  EXPECT_TRUE(sync.WriteProc(procs[0]).ok());
  EXPECT_TRUE(t.procs.rows.empty());
}

}  // namespace
}  // namespace permsentry
