// The pipeline end to end without a kernel: records in, lines out. Here: the
// kernel's counts of identical repeats (PS_EV_REPEATS) become summary lines of
// the record they repeat, and every call is accounted for.
#include "pipeline/pipeline.h"

#include <gtest/gtest.h>
#include <stdio.h>
#include <unistd.h>

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

}  // namespace
}  // namespace permsentry
