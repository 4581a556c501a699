// libFuzzer target: records are bytes from the kernel, and the agent must survive
// any of them. Decode, and when decoding succeeds render both formats, checking
// the one-line invariant on the way.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>

#include "absl/time/clock.h"
#include "attribute/process_table.h"
#include "decode/decode.h"
#include "render/render.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static permsentry::JsonRenderer json("fuzzhost");
  static permsentry::TextRenderer text;
  const absl::Span<const uint8_t> rec(data, size);
  if (permsentry::RecordType(rec) == PS_EV_PROC) {
    // Process records feed the process table: decode, apply, attribute.
    static permsentry::ProcessTable table;
    absl::StatusOr<permsentry::ProcEvent> pe = permsentry::DecodeProcEvent(rec, {});
    if (pe.ok()) table.Apply(*pe, absl::Now());
    return 0;
  }
  if (permsentry::RecordType(rec) == PS_EV_REPEATS) {
    (void)permsentry::DecodeRepeatsEvent(rec, {});
    return 0;
  }
  absl::StatusOr<permsentry::OpEvent> ev = permsentry::DecodeOpEvent(rec, {});
  if (!ev.ok()) return 0;
  // As itself, then as a summary of repeats of itself.
  for (int pass = 0; pass < 2; ++pass) {
    for (const std::string& line : {json.Render(*ev), text.Render(*ev)}) {
      if (line.empty() || line.back() != '\n' || line.find('\n') != line.size() - 1) std::abort();
    }
    ev->repeats = size;
    ev->repeats_first = ev->time;
    ev->repeats_last = ev->time;
  }
  return 0;
}
