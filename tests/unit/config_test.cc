#include "cli/config.h"

#include <gtest/gtest.h>

namespace permsentry {
namespace {

std::string Error(absl::string_view yaml) {
  absl::StatusOr<Config> c = ParseConfig(yaml, "test.yaml");
  EXPECT_FALSE(c.ok());
  return std::string(c.status().message());
}

TEST(Config, EmptyIsDefault) {
  absl::StatusOr<Config> c = ParseConfig("", "x");
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(c->format, OutputFormat::kJson);
  EXPECT_EQ(c->bulk_ring_mb, Config{}.bulk_ring_mb);
}

TEST(Config, DefaultYamlParsesToDefaults) {
  absl::StatusOr<Config> c = ParseConfig(DefaultConfigYaml(), "default");
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->drain_interval_ms, Config{}.drain_interval_ms);
  EXPECT_EQ(c->urgent_ring_kb, Config{}.urgent_ring_kb);
}

TEST(Config, Values) {
  absl::StatusOr<Config> c =
      ParseConfig("output:\n  format: text\ncapture:\n  bulk_ring_mb: 64\n", "x");
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(c->format, OutputFormat::kText);
  EXPECT_EQ(c->bulk_ring_mb, 64u);
}

TEST(Config, Errors) {
  EXPECT_EQ(Error("outptu:\n  format: json\n"),
            "test.yaml:1: unknown key \"outptu\" (known: output, capture)");
  EXPECT_EQ(Error("output:\n  format: xml\n"),
            "test.yaml:2: output.format: \"xml\" is not one of json, text");
  EXPECT_EQ(Error("capture:\n  bulk_ring_mb: 3\n"),
            "test.yaml:2: capture.bulk_ring_mb: 3 is not a power of two");
  EXPECT_EQ(Error("capture:\n  bulk_ring_mb: 99999\n"),
            "test.yaml:2: capture.bulk_ring_mb: 99999 is out of range [1, 1024]");
  EXPECT_EQ(Error("capture:\n  drain_interval_ms: fast\n"),
            "test.yaml:2: capture.drain_interval_ms: \"fast\" is not a whole number");
  EXPECT_EQ(Error("capture:\n  nope: 1\n"),
            "test.yaml:2: unknown key \"capture.nope\" (known: bulk_ring_mb, urgent_ring_kb, "
            "drain_interval_ms, stats_interval_ms)");
  EXPECT_EQ(Error("- a\n- b\n"), "test.yaml:1: top level: expected a mapping");
  const std::string bad = Error("output: [\n");
  EXPECT_EQ(bad.rfind("test.yaml:", 0), 0u) << bad;
  EXPECT_NE(bad.find("invalid YAML"), std::string::npos) << bad;
  EXPECT_EQ(bad.find('\n'), std::string::npos) << "one line: " << bad;
}

}  // namespace
}  // namespace permsentry
