// Events → output lines. JSON follows ECS field names (see README "Event fields");
// text is for people at a terminal. Every rendered event is exactly one line.
#ifndef PERMSENTRY_RENDER_RENDER_H_
#define PERMSENTRY_RENDER_RENDER_H_

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/time/time.h"
#include "common/names.h"
#include "decode/event.h"
#include "enrich/access_delta.h"
#include "enrich/path.h"
#include "rapidjson/stringbuffer.h"
#include "watch/watch_list.h"

namespace permsentry {

// "04755", "0644": octal with a leading zero, at least four digits.
std::string FormatMode(uint32_t mode);

// "2026-11-25T09:24:45.916199Z". The calendar part is formatted once per second
// (events come in bursts, and time zone formatting is the slow part).
class TimestampFormatter {
 public:
  std::string Format(absl::Time t);

 private:
  int64_t second_ = INT64_MIN;
  std::string prefix_;  // "2026-11-25T09:24:45"
};

// What the enrich stage adds to an event before it is rendered.
struct Enriched {
  std::optional<ResolvedPath> path;   // absolute path of the changed object
  FileStateChange state;              // mode/owner before and after, as far as known
  std::vector<std::string> delta;     // who gained or lost what
  const WatchEntry* watch = nullptr;  // the watch-list entry that matched, if known
};
// `watch_list` is the list the kernel's watch maps were built from (may be null).
Enriched Enrich(const SyscallEvent& ev, NameCache& names, SymlinkChecker& symlinks,
                const std::vector<WatchEntry>* watch_list);

// "O_WRONLY|O_CREAT|O_TRUNC"
std::string OpenFlagsText(uint32_t flags);

// One-line human summary (the JSON `message`), e.g.
// "chmod /etc/sudoers.d/x 0440 -> 0442 by bash (pid 812, uid 0): others: +w".
std::string Summary(const SyscallEvent& ev, const Enriched& en);

// Sensor health: events the kernel could not hand over (ring buffer full).
struct LossReport {
  absl::Time time;
  uint64_t lost_bulk = 0;    // new since the previous report
  uint64_t lost_urgent = 0;  // new since the previous report (those still went to the bulk ring)
  uint64_t lost_bulk_total = 0;
  uint64_t lost_urgent_total = 0;
};

class Renderer {
 public:
  virtual ~Renderer() = default;
  // Both return one line ending in '\n'.
  virtual std::string Render(const SyscallEvent& ev) = 0;
  virtual std::string Render(const LossReport& loss) = 0;
  // The watch list that names watch-list classes in events (kept by the caller).
  void SetWatchList(std::shared_ptr<const std::vector<WatchEntry>> list) {
    watch_list_ = std::move(list);
  }

 protected:
  std::shared_ptr<const std::vector<WatchEntry>> watch_list_;
};

class JsonRenderer : public Renderer {
 public:
  explicit JsonRenderer(std::string hostname) : hostname_(std::move(hostname)) {}
  std::string Render(const SyscallEvent& ev) override;
  std::string Render(const LossReport& loss) override;

 private:
  std::string hostname_;
  NameCache names_;
  SymlinkChecker symlinks_;
  TimestampFormatter timestamps_;
  rapidjson::StringBuffer buf_;  // reused: no regrowth per event
  // The "ai" and "ancestry" members of the last attribution rendered: a storm
  // of events from one process shares one attribution, rendered once.
  std::shared_ptr<const Attribution> last_ai_;
  std::string last_ai_json_;
  std::string last_ai_ancestry_json_;
};

class TextRenderer : public Renderer {
 public:
  std::string Render(const SyscallEvent& ev) override;
  std::string Render(const LossReport& loss) override;

 private:
  NameCache names_;
  SymlinkChecker symlinks_;
};

}  // namespace permsentry

#endif  // PERMSENTRY_RENDER_RENDER_H_
