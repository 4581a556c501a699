#include <algorithm>
#include <cstring>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "render/render.h"
#include "render/tail_text.h"

namespace permsentry {

absl::string_view TimestampFormatter::Format(absl::Time t) {
  const int64_t us = absl::ToUnixMicros(t);
  const int64_t sec = us >= 0 ? us / 1000000 : (us - 999999) / 1000000;
  if (sec != second_) {
    // The date and time change once a second; only the microseconds per call.
    second_ = sec;
    const std::string prefix =
        absl::FormatTime("%Y-%m-%dT%H:%M:%S", absl::FromUnixSeconds(sec), absl::UTCTimeZone());
    prefix_len_ = std::min(prefix.size(), sizeof(text_) - 8);
    std::memcpy(text_, prefix.data(), prefix_len_);
  }
  // Six digits, two at a time from a table.
  static constexpr char kPairs[] =
      "00010203040506070809101112131415161718192021222324252627282930313233343536373839"
      "40414243444546474849505152535455565758596061626364656667686970717273747576777879"
      "8081828384858687888990919293949596979899";
  const auto frac = static_cast<uint32_t>(us - sec * 1000000);
  char* tail = text_ + prefix_len_;
  tail[0] = '.';
  std::memcpy(tail + 1, kPairs + 2 * (frac / 10000), 2);
  std::memcpy(tail + 3, kPairs + 2 * (frac / 100 % 100), 2);
  std::memcpy(tail + 5, kPairs + 2 * (frac % 100), 2);
  tail[7] = 'Z';
  return absl::string_view(text_, prefix_len_ + 8);
}

absl::string_view SeverityColor(Severity s) {
  switch (s) {
    case Severity::kCritical:
      return "\033[1;97;41m";  // bold white on red
    case Severity::kHigh:
      return "\033[1;31m";  // bold red
    case Severity::kMedium:
      return "\033[1;33m";  // bold yellow
    case Severity::kLow:
      return "\033[36m";  // cyan
  }
  return "";
}

namespace {

std::string Time(absl::Time t) {
  return absl::FormatTime("%Y-%m-%dT%H:%M:%E3SZ", t, absl::UTCTimeZone());
}

// "HIGH    " (padded to the longest name), coloured when asked.
std::string SeverityWord(Severity s, bool color) {
  std::string word = absl::AsciiStrToUpper(SeverityName(s));
  word.resize(8, ' ');
  if (!color) return word;
  // Colour the word only: trailing blanks on a red background look like noise.
  const size_t len = SeverityName(s).size();
  return absl::StrCat(SeverityColor(s), word.substr(0, len), kColorReset, word.substr(len));
}

}  // namespace

std::string TextRenderer::Render(const OpEvent& ev, const Enriched& en, const AlertInfo* alert) {
  if (alert != nullptr && !alert->coalesced) {
    return absl::StrCat(Time(ev.time), " ", SeverityWord(alert->severity, color_), " ",
                        alert->rule_id, ": ", NoControls(AlertMessage(*alert)),
                        ev.compat ? " [ia32]" : "", "\n");
  }
  const std::string user = names_.UserName(ev.proc.uid).value_or(absl::StrCat(ev.proc.uid));
  std::string line = absl::StrCat(Time(ev.time), " ", ev.success() ? "ok  " : "FAIL", " ", user,
                                  " ", Summary(ev, en), ev.compat ? " [ia32]" : "");
  if (alert != nullptr) absl::StrAppend(&line, " (repeat of ", alert->rule_id, ", coalesced)");
  if (ev.repeats > 0) {
    absl::StrAppend(&line, " (", ev.repeats, ev.repeats == 1 ? " more time" : " more times",
                    " since ", Time(ev.repeats_first), ")");
  }
  if (color_) line = absl::StrCat(kColorDim, line, kColorReset);
  line += '\n';
  return line;
}

std::string TextRenderer::Render(const HealthAlert& h) {
  return absl::StrCat(Time(h.time), " ", SeverityWord(h.severity, color_), " ", h.rule_id, ": ",
                      NoControls(h.message), "\n");
}

}  // namespace permsentry
