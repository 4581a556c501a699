// libFuzzer target: records are bytes from the kernel, and the agent must survive
// any of them. Decode, and when decoding succeeds render both formats, checking
// the one-line invariant on the way.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>

#include "decode/decode.h"
#include "render/render.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static permsentry::JsonRenderer json("fuzzhost");
  static permsentry::TextRenderer text;
  absl::StatusOr<permsentry::SyscallEvent> ev =
      permsentry::DecodeSyscallEvent(absl::Span<const uint8_t>(data, size), {});
  if (!ev.ok()) return 0;
  for (const std::string& line : {json.Render(*ev), text.Render(*ev)}) {
    if (line.empty() || line.back() != '\n' || line.find('\n') != line.size() - 1) std::abort();
  }
  return 0;
}
