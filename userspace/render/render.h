// Events → output lines. JSON follows ECS field names (see README "Event fields");
// text is for people at a terminal. Every rendered event is exactly one line.
#ifndef PERMSENTRY_RENDER_RENDER_H_
#define PERMSENTRY_RENDER_RENDER_H_

#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/time/time.h"
#include "common/names.h"
#include "common/severity.h"
#include "decode/event.h"
#include "enrich/enrich.h"
#include "watch/watch_list.h"

namespace permsentry {

class JsonWriter;

// "2026-11-25T09:24:45.916199Z". The calendar part is formatted once per second
// (events come in bursts, and time zone formatting is the slow part).
class TimestampFormatter {
 public:
  // "2026-11-25T09:24:45.123456Z", valid until the next call.
  absl::string_view Format(absl::Time t);

 private:
  int64_t second_ = INT64_MIN;
  char text_[48];  // "2026-11-25T09:24:45" and then the fraction
  size_t prefix_len_ = 0;
};

// What the rules decided about an event. Self-contained (no pointers into the
// rule set, which a reload replaces).
struct AlertInfo {
  std::string rule_id;
  std::string rule_name;
  std::string message;                 // the rule's message, rendered
  Severity severity = Severity::kLow;  // after escalation
  Severity base_severity = Severity::kLow;
  std::vector<std::string> matched;  // every rule that matched, the primary first
  // A repeat of an alert already sent (same rule, process and path) within the
  // coalescing window: rendered as an event, counted into the next summary.
  bool coalesced = false;
  // A summary of repeats: how many since the alert that went out, and when.
  uint64_t repeats = 0;
  absl::Time first_seen, last_seen;
};

// The message an alert carries: the rule's, plus the count of a summary of
// repeats ("... (and 41 more times since 10:02:13Z)").
std::string AlertMessage(const AlertInfo& a);

// The sensor's own health, as alerts: events the kernel could not hand over
// (ring buffer full), alerts a sink could not deliver.
struct HealthAlert {
  absl::Time time;
  std::string action;   // event.action: "events_lost", "sink_dropped"
  std::string rule_id;  // rule.id: "sensor-events-lost", "sensor-sink-dropped"
  std::string rule_name;
  Severity severity = Severity::kHigh;
  std::string message;
  std::string detail;                                        // permsentry.<detail>
  std::vector<std::pair<std::string, std::string>> strings;  // in the detail object
  std::vector<std::pair<std::string, uint64_t>> counters;    // in the detail object
};

// The ring-buffer loss report: new losses since the previous one, and totals.
HealthAlert EventsLostAlert(absl::Time time, uint64_t lost_bulk, uint64_t lost_urgent,
                            uint64_t lost_bulk_total, uint64_t lost_urgent_total);

class Renderer {
 public:
  virtual ~Renderer() = default;
  // Each returns one line ending in '\n'. `alert` is null for an event no rule
  // matched.
  virtual std::string Render(const OpEvent& ev, const Enriched& en, const AlertInfo* alert) = 0;
  virtual std::string Render(const HealthAlert& h) = 0;
  // Enriches the event itself (tests, and callers that enrich nothing else).
  std::string Render(const OpEvent& ev);
  // The watch list that names watch-list classes in events (kept by the caller).
  void SetWatchList(std::shared_ptr<const std::vector<WatchEntry>> list) {
    watch_list_ = std::move(list);
  }

 protected:
  std::shared_ptr<const std::vector<WatchEntry>> watch_list_;
  NameCache names_;
  SymlinkChecker symlinks_;
};

class JsonRenderer : public Renderer {
 public:
  explicit JsonRenderer(std::string hostname) : hostname_(std::move(hostname)) {}
  using Renderer::Render;
  std::string Render(const OpEvent& ev, const Enriched& en, const AlertInfo* alert) override;
  std::string Render(const HealthAlert& h) override;
  // The line (newline included) in the renderer's own buffer, valid until the
  // next call: the pipeline copies it once, where it goes.
  absl::string_view RenderLine(const OpEvent& ev, const Enriched& en, const AlertInfo* alert);
  // The same line written into *out from `at` (bytes from there on are
  // scratch, see JsonWriter): rendered where it goes out, without a copy.
  absl::string_view RenderLineInto(std::string* out, size_t at, const OpEvent& ev,
                                   const Enriched& en, const AlertInfo* alert);

 private:
  std::string hostname_;
  std::string summary_;  // reused: the event's summary, built in place
  TimestampFormatter timestamps_;
  std::string buf_;  // reused: no regrowth per event
  // The "ai" and "ancestry" members of the last attribution rendered: a storm
  // of events from one process shares one attribution, rendered once.
  // The "process", "user" and "group" members of the last event rendered,
  // and what they were rendered from.
  struct ProcessBlock {
    bool valid = false;
    uint32_t pid = 0, tid = 0, ppid = 0, uid = 0, euid = 0, gid = 0, egid = 0;
    uint32_t loginuid = 0, sessionid = 0, tty = 0;
    uint64_t cgroup_id = 0, start_time_ns = 0;
    std::string comm;
    // executable and args come from it (held: a freed one could come back at
    // the same address)
    std::shared_ptr<const Attribution> ai;
    std::string json;
    // permsentry's "audit", "tty", "cgroup_id" and "process_start_ns" members.
    std::string audit_json;
    std::string actor;  // the summary's "comm (pid N, uid N)"
  };
  ProcessBlock last_proc_;
  // The "event" and "host" members, by what they are made of: a few dozen
  // combinations of action, outcome and severity, each rendered once.
  struct EventBlockKey {
    // Actions are static text: the address, with the text checked on a hit
    // (EventBlock::action), names one.
    const char* action;
    size_t action_size;
    uint8_t op, outcome, kind;  // kind: 0 event, 1 + severity for an alert
    template <typename H>
    friend H AbslHashValue(H h, const EventBlockKey& k) {
      return H::combine(std::move(h), k.action, k.action_size, k.op, k.outcome, k.kind);
    }
    bool operator==(const EventBlockKey&) const = default;
  };
  struct EventBlock {
    std::string action;  // the text it was rendered for
    std::string json;
  };
  absl::flat_hash_map<EventBlockKey, EventBlock> event_blocks_;
  // file.uid and file.owner (file.gid and file.group) as last rendered.
  struct IdMemo {
    bool valid = false;
    uint32_t id = 0;
    std::string json;
    void Keep(uint32_t i, absl::string_view text) {
      valid = true;
      id = i;
      json.assign(text.data(), text.size());
    }
  };
  IdMemo owner_memo_, group_memo_;
  using NameLookup = std::optional<std::string> (NameCache::*)(uint32_t);
  void IdMembers(JsonWriter& w, IdMemo& memo, uint32_t id, absl::string_view id_key,
                 absl::string_view name_key, NameLookup lookup);
  int64_t id_memo_minute_ = 0;  // the memos hold names looked up in this minute
  std::shared_ptr<const Attribution> last_ai_;
  std::string last_ai_json_;
  std::string last_ai_ancestry_json_;
};

// Terminal colours for the text form (ANSI SGR), by severity.
absl::string_view SeverityColor(Severity s);
inline constexpr char kColorReset[] = "\033[0m";
inline constexpr char kColorDim[] = "\033[2m";

class TextRenderer : public Renderer {
 public:
  explicit TextRenderer(bool color = false) : color_(color) {}
  using Renderer::Render;
  std::string Render(const OpEvent& ev, const Enriched& en, const AlertInfo* alert) override;
  std::string Render(const HealthAlert& h) override;

 private:
  bool color_;
};

}  // namespace permsentry

#endif  // PERMSENTRY_RENDER_RENDER_H_
