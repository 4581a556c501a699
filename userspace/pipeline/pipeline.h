// The event pipeline, from a ring record to every output:
//
//   decode → attribute (process table) → enrich (path, before/after, delta)
//   → rules (alert or not, severity, message) → coalesce repeats
//   → render once → stdout, the tail socket, the alert sinks
//
// Single-threaded: it runs on the thread that reads the rings. Alerts are
// written to stdout and the tail clients before the next record is read; the
// sinks take them on their own threads.
#ifndef PERMSENTRY_PIPELINE_PIPELINE_H_
#define PERMSENTRY_PIPELINE_PIPELINE_H_

#include <array>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/time/time.h"
#include "absl/types/span.h"
#include "attribute/attribution.h"
#include "attribute/process_table.h"
#include "common/actions.h"
#include "decode/decode.h"
#include "pipeline/coalesce.h"
#include "pipeline/stdout_writer.h"
#include "render/render.h"
#include "rules/facts.h"
#include "rules/rules.h"
#include "sinks/sink_set.h"
#include "sinks/tail_server.h"

namespace permsentry {

struct StdoutOptions {
  bool json = true;
  bool color = false;  // text format only
  bool alerts_only = false;
  Severity min_severity = Severity::kLow;  // with alerts_only
};

// Events by (event.action, result), for the metrics: a slot per known action
// (the decoder's index: no hashing per event), a map for any other.
class ActionCounts {
 public:
  ActionCounts() : by_index_(Actions().size()) {}
  void Add(int index, absl::string_view action, Result r, uint64_t n = 1) {
    if (index >= 0 && static_cast<size_t>(index) < by_index_.size()) [[likely]] {
      by_index_[static_cast<size_t>(index)][static_cast<size_t>(r)] += n;
      return;
    }
    other_[{std::string(action), r}] += n;
  }
  uint64_t Get(absl::string_view action, Result r) const;
  // f(absl::string_view action, Result, uint64_t count) for each nonzero count.
  void ForEach(const std::function<void(absl::string_view, Result, uint64_t)>& f) const;

 private:
  static_assert(PS_RESULT_UNKNOWN == 0 && PS_RESULT_OK == 1 && PS_RESULT_ERROR == 2);
  std::vector<std::array<uint64_t, 3>> by_index_;  // [action index][Result]
  absl::flat_hash_map<std::pair<std::string, Result>, uint64_t> other_;
};

struct PipelineCounters {
  uint64_t events = 0;       // operation records decoded
  uint64_t undecodable = 0;  // records that failed to decode
  uint64_t alerts = 0;       // alerts sent (summaries of repeats included)
  uint64_t coalesced = 0;    // repeats counted into summaries
  // Identical calls the kernel counted instead of sending (each PS_EV_REPEATS
  // record adds its count), and counts for a record this pipeline never saw.
  uint64_t kernel_repeats = 0;
  uint64_t repeats_unmatched = 0;
  // For the metrics: events by (event.action, result), alerts by (rule,
  // severity).
  ActionCounts events_by_action;
  absl::flat_hash_map<std::pair<std::string, Severity>, uint64_t> alerts_by_rule;
};

// What one record did, for the caller's timers: returned, never left in
// flags for the caller to clear.
struct RecordOutcome {
  bool alerted = false;           // an alert went out: flush the outputs now
  bool sessions_changed = false;  // a session started or a change was attributed to one
  bool watch_changed = false;     // a name or a mount may have moved a watched file
};

class Pipeline {
 public:
  Pipeline(StdoutWriter* out, TailServer* tail, SinkSet* sinks, std::string hostname,
           int64_t boot_to_realtime_ns);

  void SetStdout(const StdoutOptions& o);
  void SetRules(std::shared_ptr<const RuleSet> rules);
  void SetWatchList(std::shared_ptr<const std::vector<WatchEntry>> list);
  ProcessTable& table() { return table_; }
  // Drains the bulk ring (for an alert candidate whose process's fork and exec
  // records are still in it).
  void set_drain_bulk(std::function<void()> f) { drain_bulk_ = std::move(f); }

  // One ring record, and what it did.
  RecordOutcome OnRecord(absl::Span<const uint8_t> record);
  // The sensor's own health: stdout, the tail, every sink.
  void OnHealth(const HealthAlert& h);
  // Summaries of repeats whose window closed (all of them with `flush`).
  // True when any went out.
  bool Tick(absl::Time now, bool flush = false);

  const PipelineCounters& counters() const { return counters_; }

 private:
  // The event being handled and its enrichment, one pair per nesting level (an
  // alert candidate's handler drains the bulk ring, whose records are handled
  // inside it), reused record after record: their strings keep their buffers.
  struct Scratch {
    OpEvent ev;
    Enriched en;
  };
  class ScratchScope {
   public:
    explicit ScratchScope(Pipeline& p) : p_(p) {
      if (p.scratch_depth_ == p.scratch_.size()) p.scratch_.push_back(std::make_unique<Scratch>());
      s_ = p.scratch_[p.scratch_depth_++].get();
    }
    ~ScratchScope() { --p_.scratch_depth_; }
    ScratchScope(const ScratchScope&) = delete;
    ScratchScope& operator=(const ScratchScope&) = delete;
    Scratch& operator*() const { return *s_; }
    Scratch* operator->() const { return s_; }

   private:
    Pipeline& p_;
    Scratch* s_;
  };

  void OnOperation(OpEvent& ev, Enriched& en, RecordOutcome& out);
  // The kernel's count of repeats of a record it coalesces: rendered as that
  // record again, with the count and the times of the first and last repeat.
  void OnRepeats(const RepeatsEvent& r);
  // Render and send one event (and its alert, if any).
  void Emit(const OpEvent& ev, const Enriched& en, const AlertInfo* alert, bool send);
  std::shared_ptr<const AlertRecord> Record(const OpEvent& ev, const Enriched& en,
                                            const AlertInfo& a, const std::string& json);

  StdoutWriter* out_;
  TailServer* tail_;
  SinkSet* sinks_;
  DecodeOptions decode_options_;
  StdoutOptions stdout_;
  std::shared_ptr<const RuleSet> rules_;
  std::shared_ptr<const std::vector<WatchEntry>> watch_list_;
  ProcessTable table_;
  AttributionCache attribution_cache_;
  NameCache names_;
  SymlinkChecker symlinks_;
  std::unique_ptr<Coalescer> coalescer_;
  JsonRenderer json_;
  std::unique_ptr<TextRenderer> text_;
  std::function<void()> drain_bulk_;
  PipelineCounters counters_;
  // The records the kernel is coalescing, by slot (the low 24 bits of their
  // coalesce_id: CPU and slot index), as raw bytes with the attribution they
  // had: a slot's next record replaces its previous one, so this holds at
  // most one record per kernel slot.
  struct CoalescedRecord {
    uint64_t id = 0;
    std::vector<uint8_t> raw;
    std::shared_ptr<const Attribution> ai;
  };
  absl::flat_hash_map<uint32_t, CoalescedRecord> coalescing_;
  bool alerted_ = false;  // set by Emit for the record at hand
  std::vector<std::unique_ptr<Scratch>> scratch_;
  size_t scratch_depth_ = 0;
};

}  // namespace permsentry

#endif  // PERMSENTRY_PIPELINE_PIPELINE_H_
