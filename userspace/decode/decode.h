// Raw ring-buffer records → typed events. The only code that reads kernel bytes:
// every length and enum is checked, so a corrupt or hostile record is an error,
// never a crash (fuzzed by tests/fuzz/decode_fuzz.cc).
#ifndef PERMSENTRY_DECODE_DECODE_H_
#define PERMSENTRY_DECODE_DECODE_H_

#include <cstdint>

#include "absl/status/statusor.h"
#include "absl/types/span.h"
#include "decode/event.h"

namespace permsentry {

struct DecodeOptions {
  // CLOCK_REALTIME - CLOCK_BOOTTIME, to turn kernel timestamps into wall time.
  int64_t boot_to_realtime_ns = 0;
};

// Offset between CLOCK_REALTIME and CLOCK_BOOTTIME now.
int64_t BootToRealtimeOffsetNs();

// The record type (PS_EV_*) of a raw record, or 0 when it is too short to say.
uint16_t RecordType(absl::Span<const uint8_t> record);

// Decode one PS_EV_PROC record.
absl::StatusOr<ProcEvent> DecodeProcEvent(absl::Span<const uint8_t> record,
                                          const DecodeOptions& options);

// Decode one PS_EV_OP record.
absl::StatusOr<OpEvent> DecodeOpEvent(absl::Span<const uint8_t> record,
                                      const DecodeOptions& options);
// The same into `ev`, which must be as default-constructed (the consumer's hot
// path: no move of the event out of a StatusOr).
absl::Status DecodeOpEventInto(absl::Span<const uint8_t> record, const DecodeOptions& options,
                               OpEvent& ev);

// Decode one PS_EV_REPEATS record.
absl::StatusOr<RepeatsEvent> DecodeRepeatsEvent(absl::Span<const uint8_t> record,
                                                const DecodeOptions& options);

}  // namespace permsentry

#endif  // PERMSENTRY_DECODE_DECODE_H_
