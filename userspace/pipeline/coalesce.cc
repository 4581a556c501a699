#include "pipeline/coalesce.h"

namespace permsentry {

bool Coalescer::Admit(CoalesceKey key, absl::Time now, const OpEvent& ev, const AlertInfo& alert) {
  if (window_ <= absl::ZeroDuration()) return true;
  auto it = keys_.find(key);
  if (it == keys_.end()) {
    if (keys_.size() >= max_keys_) {
      ++untracked_;  // never silent: it goes out uncoalesced
      return true;
    }
    keys_.emplace(std::move(key),
                  State{.window_start = now, .last_seen = now, .repeats = 0, .repeat = {}});
    return true;
  }
  State& s = it->second;
  if (s.repeats == 0 && now - s.last_seen >= window_) {
    // Quiet for a whole window: a fresh alert.
    s.window_start = now;
    s.last_seen = now;
    return true;
  }
  ++s.repeats;
  s.last_seen = now;
  if (!s.repeat) s.repeat = std::make_unique<RepeatedAlert>();
  s.repeat->ev = ev;
  s.repeat->alert = alert;
  return false;
}

std::vector<Coalescer::Summary> Coalescer::Collect(absl::Time now, bool flush) {
  std::vector<Summary> out;
  for (auto it = keys_.begin(); it != keys_.end();) {
    State& s = it->second;
    if (s.repeats > 0 && (flush || now - s.window_start >= window_)) {
      out.push_back(Summary{.key = it->first,
                            .repeats = s.repeats,
                            .first = s.window_start,
                            .last = s.last_seen,
                            .repeat = std::move(s.repeat)});
      // Repeats keep coming: the next window starts now and ends in a summary
      // too, rather than in a fresh alert.
      s.repeats = 0;
      s.window_start = now;
    }
    if (flush || (s.repeats == 0 && now - s.last_seen >= window_)) {
      keys_.erase(it++);
    } else {
      ++it;
    }
  }
  return out;
}

}  // namespace permsentry
