#include "render/tail_text.h"

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "common/severity.h"
#include "rapidjson/document.h"
#include "render/render.h"

namespace permsentry {

std::string NoControls(absl::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (const char c : s) {
    const auto u = static_cast<unsigned char>(c);
    if (u < 0x20 || u == 0x7f) {
      absl::StrAppend(&out, absl::StrFormat("\\x%02x", u));
    } else {
      out.push_back(c);
    }
  }
  return out;
}

std::optional<std::string> TailTextLine(absl::string_view json_line, bool color) {
  rapidjson::Document d;
  d.Parse(json_line.data(), json_line.size());
  if (d.HasParseError() || !d.IsObject()) return std::nullopt;
  const auto str = [&](const rapidjson::Value& v, const char* k) -> absl::string_view {
    if (!v.IsObject() || !v.HasMember(k) || !v[k].IsString()) return {};
    return absl::string_view(v[k].GetString(), v[k].GetStringLength());
  };
  if (!d.HasMember("event") || !d["event"].IsObject()) return std::nullopt;
  const rapidjson::Value& event = d["event"];
  // "2026-12-01T18:49:41.123456Z" → "18:49:41.123"
  const absl::string_view ts = str(d, "@timestamp");
  const std::string time = ts.size() >= 23 ? std::string(ts.substr(11, 12)) : std::string(ts);
  const std::string message = NoControls(str(d, "message"));
  if (str(event, "kind") == "alert") {
    std::optional<Severity> sev;
    if (d.HasMember("permsentry") && d["permsentry"].IsObject() &&
        d["permsentry"].HasMember("alert") && d["permsentry"]["alert"].IsObject())
      sev = ParseSeverity(str(d["permsentry"]["alert"], "severity"));
    const Severity s = sev.value_or(Severity::kHigh);
    std::string word = absl::AsciiStrToUpper(SeverityName(s));
    const size_t len = word.size();
    word.resize(8, ' ');
    const std::string rule = d.HasMember("rule") ? NoControls(str(d["rule"], "id")) : "";
    if (color) {
      return absl::StrCat(time, " ", SeverityColor(s), word.substr(0, len), kColorReset,
                          word.substr(len), " \033[1m", rule, kColorReset, ": ", message, "\n");
    }
    return absl::StrCat(time, " ", word, " ", rule, ": ", message, "\n");
  }
  const std::string line = absl::StrCat(time, " event    ", message);
  if (color) return absl::StrCat(kColorDim, line, kColorReset, "\n");
  return absl::StrCat(line, "\n");
}

}  // namespace permsentry
