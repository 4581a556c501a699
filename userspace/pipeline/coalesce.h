// Repeated identical alerts (same rule, same process, same path, same change)
// are coalesced:
// the first goes out at once; repeats within the window are counted, and one
// summary with the count goes out when the window closes. Nothing is dropped:
// every repeat is still an event in the stream, and the summary carries the
// last one's details. A key quiet for a whole window is forgotten, so the next
// occurrence alerts at once again.
#ifndef PERMSENTRY_PIPELINE_COALESCE_H_
#define PERMSENTRY_PIPELINE_COALESCE_H_

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/time/time.h"
#include "decode/event.h"
#include "render/render.h"

namespace permsentry {

struct CoalesceKey {
  std::string rule_id;
  ProcKey process;
  std::string path;
  // What changed (the action and its access delta): a different change by the
  // same process under the same rule, a uid turning 0 after a capset, is an
  // alert of its own, never a repeat of the first.
  std::string change;
  bool operator==(const CoalesceKey&) const = default;
  template <typename H>
  friend H AbslHashValue(H h, const CoalesceKey& k) {
    return H::combine(std::move(h), k.rule_id, k.process, k.path, k.change);
  }
};

// The last repeat of a key, re-rendered as the summary.
struct RepeatedAlert {
  OpEvent ev;
  AlertInfo alert;
};

class Coalescer {
 public:
  explicit Coalescer(absl::Duration window, size_t max_keys = 16384)
      : window_(window), max_keys_(max_keys) {}

  // True: send the alert now. False: a repeat, counted; `last` is kept for the
  // summary.
  bool Admit(CoalesceKey key, absl::Time now, const OpEvent& ev, const AlertInfo& alert);

  struct Summary {
    CoalesceKey key;
    uint64_t repeats = 0;
    absl::Time first, last;
    std::unique_ptr<RepeatedAlert> repeat;
  };
  // Summaries whose window has closed (all of them with `flush`, at exit).
  std::vector<Summary> Collect(absl::Time now, bool flush = false);

  size_t keys() const { return keys_.size(); }
  // Alerts sent without coalescing because the table was full.
  uint64_t untracked() const { return untracked_; }
  void set_window(absl::Duration w) { window_ = w; }

 private:
  struct State {
    absl::Time window_start;
    absl::Time last_seen;
    uint64_t repeats = 0;  // in this window
    std::unique_ptr<RepeatedAlert> repeat;
  };
  absl::Duration window_;
  size_t max_keys_;
  uint64_t untracked_ = 0;
  absl::flat_hash_map<CoalesceKey, State> keys_;
};

}  // namespace permsentry

#endif  // PERMSENTRY_PIPELINE_COALESCE_H_
