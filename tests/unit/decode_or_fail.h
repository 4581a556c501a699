// Test helper: decode a record built with RecordBuilder that must be valid.
#ifndef PERMSENTRY_TESTS_UNIT_DECODE_OR_FAIL_H_
#define PERMSENTRY_TESTS_UNIT_DECODE_OR_FAIL_H_

#include <cstdint>
#include <utility>
#include <vector>

#include "decode/decode.h"
#include "gtest/gtest.h"

namespace permsentry::testing {

// The test fails (and gets an empty event) when the record does not decode.
inline OpEvent DecodeOrFail(std::vector<uint8_t> rec) {
  absl::StatusOr<OpEvent> ev = DecodeOpEvent(rec, DecodeOptions{});
  EXPECT_TRUE(ev.ok()) << ev.status();
  return ev.ok() ? *std::move(ev) : OpEvent{};
}

}  // namespace permsentry::testing

#endif  // PERMSENTRY_TESTS_UNIT_DECODE_OR_FAIL_H_
