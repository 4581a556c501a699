// The containers that let the pipeline reuse one event and one enrichment
// record after record: emptied, they read as empty, and keep their buffers.
#include <gtest/gtest.h>

#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "common/kept.h"
#include "common/text_list.h"

namespace permsentry {
namespace {

const std::string kLong(200, 'p');  // past any small-string buffer

TEST(OptionalString, ReadsLikeAnOptionalAndKeepsItsBuffer) {
  OptionalString s;
  EXPECT_FALSE(s);
  EXPECT_EQ(s, std::nullopt);
  s.emplace(kLong.data(), kLong.size());
  ASSERT_TRUE(s.has_value());
  EXPECT_EQ(*s, kLong);
  const char* buffer = s->data();
  s.reset();
  EXPECT_FALSE(s);
  EXPECT_EQ(s.value_or("none"), "none");
  s = std::string(150, 'q');  // fits the kept buffer: no new one
  EXPECT_EQ(s->data(), buffer);
  EXPECT_EQ(*s, std::string(150, 'q'));
  // Assigned an empty one (how a reused object is reset), it is empty and
  // keeps its buffer; assigned a value, it copies it into that buffer.
  s = OptionalString();
  EXPECT_FALSE(s);
  s = kLong;
  EXPECT_EQ(*s, kLong);
  EXPECT_EQ(s->data(), buffer);
  OptionalString copy = s;
  EXPECT_EQ(copy, s);
  EXPECT_NE(copy->data(), s->data());
  OptionalString moved = std::move(copy);
  EXPECT_EQ(*moved, kLong);
  EXPECT_FALSE(copy);  // NOLINT: the moved-from one reads as empty
  const std::optional<std::string> plain(moved);
  EXPECT_EQ(plain, kLong);
}

TEST(Kept, EmptiedValueStaysForReuse) {
  struct Two {
    OptionalString a;
    std::string b;
  };
  Kept<Two> k;
  EXPECT_FALSE(k);
  Two& t = k.Reuse();
  t.a = kLong;
  t.b = kLong;
  const char* a = t.a->data();
  k.reset();
  EXPECT_FALSE(k);
  // emplace(): a default value again, but the members that keep buffers kept them.
  Two& again = k.emplace();
  EXPECT_TRUE(k);
  EXPECT_FALSE(again.a);
  EXPECT_TRUE(again.b.empty());
  again.a = "short";
  EXPECT_EQ(again.a->data(), a);
  Kept<Two> copy = k;
  EXPECT_TRUE(copy);
  EXPECT_EQ(*copy->a, "short");
}

TEST(TextList, ReadsLikeAVectorAndKeepsEntries) {
  TextList l{"one", "two"};
  EXPECT_EQ(l.size(), 2u);
  EXPECT_EQ(l.ToVector(), (std::vector<std::string>{"one", "two"}));
  l.clear();
  EXPECT_TRUE(l.empty());
  EXPECT_EQ(l.begin(), l.end());
  std::string& e = l.Add();
  EXPECT_TRUE(e.empty());  // an entry comes back empty, whatever it held
  e = kLong;
  const char* buffer = e.data();
  l.clear();
  std::string& reused = l.Add(std::string(100, 'r'));
  EXPECT_EQ(reused.data(), buffer);
  l.push_back("x");
  EXPECT_EQ(l.ToVector(), (std::vector<std::string>{std::string(100, 'r'), "x"}));
  const absl::Span<const std::string> span = l;
  EXPECT_EQ(span.size(), 2u);
}

}  // namespace
}  // namespace permsentry
