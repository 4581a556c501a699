// Alert severities. Ordered: a sink or a tail asks for "at least high".
#ifndef PERMSENTRY_COMMON_SEVERITY_H_
#define PERMSENTRY_COMMON_SEVERITY_H_

#include <optional>

#include "absl/strings/string_view.h"

namespace permsentry {

enum class Severity { kLow = 0, kMedium = 1, kHigh = 2, kCritical = 3 };

inline absl::string_view SeverityName(Severity s) {
  switch (s) {
    case Severity::kLow:
      return "low";
    case Severity::kMedium:
      return "medium";
    case Severity::kHigh:
      return "high";
    case Severity::kCritical:
      return "critical";
  }
  return "low";
}

inline std::optional<Severity> ParseSeverity(absl::string_view s) {
  if (s == "low") return Severity::kLow;
  if (s == "medium") return Severity::kMedium;
  if (s == "high") return Severity::kHigh;
  if (s == "critical") return Severity::kCritical;
  return std::nullopt;
}

// ECS event.severity is a number; these are the values Elastic's detection
// rules use for the four names, so a SIEM sorts our alerts with its own.
inline int EcsSeverity(Severity s) {
  switch (s) {
    case Severity::kLow:
      return 21;
    case Severity::kMedium:
      return 47;
    case Severity::kHigh:
      return 73;
    case Severity::kCritical:
      return 99;
  }
  return 21;
}

// One step up (an AI session's change), critical stays critical.
inline Severity Escalate(Severity s) {
  return s == Severity::kCritical ? s : static_cast<Severity>(static_cast<int>(s) + 1);
}

}  // namespace permsentry

#endif  // PERMSENTRY_COMMON_SEVERITY_H_
