// The pipeline end to end without a kernel: records in, lines out. Here: the
// kernel's counts of identical repeats (PS_EV_REPEATS) become summary lines of
// the record they repeat, and every call is accounted for.
#include "pipeline/pipeline.h"

#include <gtest/gtest.h>
#include <stdio.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <string>
#include <vector>

#include "absl/strings/str_split.h"
#include "config/config.h"
#include "record_builder.h"

namespace permsentry {
namespace {

using testing::RecordBuilder;

constexpr uint64_t kId = (7ull << 24) | (1u << 8) | 5;  // seq 7, CPU 1, slot 5

std::vector<uint8_t> Repeats(uint64_t id, uint64_t n, uint64_t first, uint64_t last, bool final) {
  ps_repeats_event r{};
  r.hdr.abi_version = PS_ABI_VERSION;
  r.hdr.type = PS_EV_REPEATS;
  r.hdr.size = sizeof(r);
  r.hdr.ktime = last;
  r.coalesce_id = id;
  r.repeats = n;
  r.first_ktime = first;
  r.last_ktime = last;
  r.flags = final ? PS_RF_FINAL : 0;
  std::vector<uint8_t> out(sizeof(r));
  std::memcpy(out.data(), &r, sizeof(r));
  return out;
}

class PipelineRepeats : public ::testing::Test {
 protected:
  PipelineRepeats()
      : file_(tmpfile()), out_(fileno(file_)), pipeline_(&out_, nullptr, nullptr, "h", 0) {
    pipeline_.SetRules(std::make_shared<const RuleSet>(Config().rules));
  }
  ~PipelineRepeats() override { fclose(file_); }

  std::vector<std::string> Lines() {
    EXPECT_TRUE(out_.Flush());
    std::string all;
    rewind(file_);
    char buf[4096];
    for (size_t n; (n = fread(buf, 1, sizeof(buf), file_)) > 0;) all.append(buf, n);
    return absl::StrSplit(all, '\n', absl::SkipEmpty());
  }

  FILE* file_;
  StdoutWriter out_;
  Pipeline pipeline_;
};

TEST_F(PipelineRepeats, ACountBecomesASummaryOfTheRecord) {
  auto b = RecordBuilder(90).Arg(1, 0600).Path("/srv/f");  // chmod("/srv/f", 0600)
  b.ev.coalesce_id = kId;
  pipeline_.OnRecord(b.Build());
  pipeline_.OnRecord(Repeats(kId, 41, 2'000'000'000, 3'000'000'000, /*final=*/false));
  pipeline_.OnRecord(Repeats(kId, 9, 4'000'000'000, 5'000'000'000, /*final=*/true));
  const std::vector<std::string> lines = Lines();
  ASSERT_EQ(lines.size(), 3u);
  EXPECT_EQ(lines[0].find("\"repeats\""), std::string::npos) << lines[0];
  EXPECT_NE(lines[1].find("\"repeats\":41,\"repeats_first\":\"1970-01-01T00:00:02.000000Z\","
                          "\"repeats_last\":\"1970-01-01T00:00:03.000000Z\""),
            std::string::npos)
      << lines[1];
  EXPECT_EQ(lines[1].rfind("{\"@timestamp\":\"1970-01-01T00:00:03.000000Z\"", 0), 0u) << lines[1];
  EXPECT_NE(lines[2].find("\"repeats\":9,"), std::string::npos) << lines[2];
  // The same event each time: the object, the call and its arguments.
  for (const std::string& l : lines) {
    EXPECT_NE(l.find("\"path\":\"/srv/f\""), std::string::npos) << l;
    EXPECT_NE(l.find("\"syscall\":\"chmod\""), std::string::npos) << l;
  }
  // Every call counted once: one record, 50 repeats.
  const PipelineCounters& c = pipeline_.counters();
  EXPECT_EQ(c.events, 1u);
  EXPECT_EQ(c.kernel_repeats, 50u);
  EXPECT_EQ(c.repeats_unmatched, 0u);
  EXPECT_EQ(c.events_by_action.Get("chmod", Result::kOk), 51u);
}

TEST_F(PipelineRepeats, CountsForNoKnownRecordAreKeptApart) {
  auto b = RecordBuilder(90).Arg(1, 0600).Path("/srv/f");
  b.ev.coalesce_id = kId;
  pipeline_.OnRecord(b.Build());
  // Another record in the same kernel slot replaces it; then a count for the
  // first arrives (it cannot: the kernel sends it before the new record), and
  // one for an id never seen.
  auto c = RecordBuilder(90).Arg(1, 0644).Path("/srv/g");
  c.ev.coalesce_id = kId + (1ull << 24);
  pipeline_.OnRecord(c.Build());
  pipeline_.OnRecord(Repeats(kId, 3, 1, 2, true));
  pipeline_.OnRecord(Repeats(0xabcdef00, 4, 1, 2, true));
  EXPECT_EQ(Lines().size(), 2u);
  EXPECT_EQ(pipeline_.counters().repeats_unmatched, 7u);
  EXPECT_EQ(pipeline_.counters().kernel_repeats, 0u);
}

// The pipeline decodes and enriches every record into objects it reuses:
// nothing of one event may leak into the next. Each of these records, handed
// one after another in two orders, gives the line it gives alone.
std::vector<std::vector<uint8_t>> VariedRecords() {
  const std::string acl = std::string("\x02\x00\x00\x00", 4) +
                          std::string("\x01\x00\x06\x00\xff\xff\xff\xff", 8) +
                          std::string("\x02\x00\x06\x00\xfe\xff\x00\x00", 8) +
                          std::string("\x04\x00\x04\x00\xff\xff\xff\xff", 8) +
                          std::string("\x10\x00\x06\x00\xff\xff\xff\xff", 8) +
                          std::string("\x20\x00\x00\x00\xff\xff\xff\xff", 8);
  const uint32_t caps[5] = {0x02000001, 1u << 13, 0, 0, 0};
  const std::string caps_value(reinterpret_cast<const char*>(caps), sizeof(caps));
  return {
      // fchmod: the kernel's path of the fd, before and after.
      RecordBuilder(91)
          .Arg(0, 3)
          .Arg(1, 04755)
          .Resolved("/srv/x", PS_PATH_OBJECT)
          .Before(0100644, 0, 0)
          .After(0104755, 0, 0)
          .Build(),
      // chmod of a relative path with "..": cwd + argument, a caveat.
      RecordBuilder(90).Arg(1, 0600).Path("../sub/./x").Resolved("/srv/a", PS_PATH_BASE).Build(),
      // A chrooted caller.
      RecordBuilder(91)
          .Arg(0, 3)
          .Resolved("/srv/jail/etc/passwd", PS_PATH_OBJECT)
          .RootLen(9)
          .Build(),
      // setxattr of an ACL, then of file capabilities, then removexattr.
      RecordBuilder(188)
          .Arg(3, acl.size())
          .Path("/srv/acl")
          .Name("system.posix_acl_access")
          .Value(acl, acl.size())
          .Build(),
      RecordBuilder(188)
          .Arg(3, caps_value.size())
          .Path("/srv/bin")
          .Name("security.capability")
          .Value(caps_value, caps_value.size())
          .Build(),
      RecordBuilder(197).Path("/srv/acl").Name("system.posix_acl_access").Build(),
      // chown; a failed chmod; an unresolved relative name with odd bytes.
      RecordBuilder(92).Arg(1, 0).Arg(2, 0).Path("/srv/owned").Build(),
      RecordBuilder(90).Arg(1, 0777).Path("/srv/denied").Ret(-13).Build(),
      RecordBuilder(90).Arg(1, 0666).Path("r\xffl\"q").Build(),
      // A rename onto a watched name (kernel_parent), and a rich-backend chmod.
      testing::RenameOntoPasswd(),
      RecordBuilder::Rich(Op::kMode).Resolved("/srv/rich", PS_PATH_OBJECT).Mode(0640).Build(),
  };
}

std::vector<std::string> LinesOf(const std::vector<std::vector<uint8_t>>& records) {
  FILE* f = tmpfile();
  std::string all;
  {
    StdoutWriter out(fileno(f));
    Pipeline p(&out, nullptr, nullptr, "h", 0);
    p.SetRules(std::make_shared<const RuleSet>(Config().rules));
    for (const std::vector<uint8_t>& r : records) {
      p.OnRecord(r);
      EXPECT_TRUE(out.Flush());  // in record order (alerts would go first)
    }
  }
  rewind(f);
  char buf[4096];
  for (size_t n; (n = fread(buf, 1, sizeof(buf), f)) > 0;) all.append(buf, n);
  fclose(f);
  return absl::StrSplit(all, '\n', absl::SkipEmpty());
}

TEST(PipelineReuse, EveryEventAsIfAlone) {
  std::vector<std::vector<uint8_t>> records = VariedRecords();
  std::vector<std::string> alone;
  for (const std::vector<uint8_t>& r : records) {
    const std::vector<std::string> l = LinesOf({r});
    ASSERT_EQ(l.size(), 1u);
    alone.push_back(l[0]);
  }
  for (bool reversed : {false, true}) {
    if (reversed) {
      std::reverse(records.begin(), records.end());
      std::reverse(alone.begin(), alone.end());
    }
    const std::vector<std::string> together = LinesOf(records);
    ASSERT_EQ(together.size(), alone.size());
    for (size_t i = 0; i < alone.size(); ++i)
      EXPECT_EQ(together[i], alone[i]) << "record " << i << (reversed ? " (reversed)" : "");
  }
}

}  // namespace
}  // namespace permsentry
