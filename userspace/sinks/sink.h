// Alert sinks: where alerts go besides stdout (a file, journald, a syslog
// collector, a webhook). Each sink delivers on its own thread from a bounded
// queue, so a sink that is slow or down never blocks capture: when its queue is
// full the new alert is dropped, and every drop is counted and reported.
#ifndef PERMSENTRY_SINKS_SINK_H_
#define PERMSENTRY_SINKS_SINK_H_

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "common/severity.h"

namespace permsentry {

// One alert, rendered once for every sink.
struct AlertRecord {
  absl::Time time;
  Severity severity = Severity::kLow;
  std::string rule_id;
  std::string rule_name;
  std::string message;
  std::string json;  // the ECS JSON line, without its newline
  // Structured fields for journald (PERMSENTRY_<NAME>=) and syslog structured
  // data (name="value"): RULE, SEVERITY, ACTION, PATH, PID, ...
  std::vector<std::pair<std::string, std::string>> fields;
};

struct SinkStats {
  uint64_t submitted = 0;  // alerts handed to the sink
  uint64_t delivered = 0;
  uint64_t dropped = 0;  // queue full: not even tried
  uint64_t failed = 0;   // tried, given up (retries exhausted, or refused)
  uint64_t retries = 0;
  size_t queued = 0;
  std::string last_error;
};

class Sink {
 public:
  struct Options {
    std::string name;  // "syslog 10.0.0.5:6514": in reports
    Severity min_severity = Severity::kLow;
    size_t queue_max = 10000;
    // Attempts per alert; 0: until it is delivered or the sensor stops (a
    // collector that is down for an hour gets the hour's alerts when it is
    // back, as far as the queue holds them).
    int max_attempts = 0;
    absl::Duration backoff_initial = absl::Milliseconds(200);
    absl::Duration backoff_max = absl::Seconds(10);
  };
  explicit Sink(Options options) : options_(std::move(options)) {}
  virtual ~Sink();
  Sink(const Sink&) = delete;
  Sink& operator=(const Sink&) = delete;

  const std::string& name() const { return options_.name; }
  bool Wants(Severity s) const { return s >= options_.min_severity; }
  // Never blocks. Drops (counted) when the queue is full.
  void Submit(std::shared_ptr<const AlertRecord> r);
  // Deliver what is queued within `grace`, then stop; what is left is counted
  // as failed. Idempotent. Derived classes call it from their destructor.
  void Stop(absl::Duration grace);
  SinkStats Stats() const;

 protected:
  // Starts the worker; the derived constructor calls it last.
  void Start();
  // On the worker thread. Ok: delivered. Unavailable: retried after a backoff
  // (connection refused, collector down). Anything else: given up.
  virtual absl::Status Deliver(const AlertRecord& r) = 0;

 private:
  void Run();

  const Options options_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::shared_ptr<const AlertRecord>> queue_;
  SinkStats stats_;
  bool stopping_ = false;
  absl::Time stop_deadline_ = absl::InfiniteFuture();
  std::thread worker_;
};

}  // namespace permsentry

#endif  // PERMSENTRY_SINKS_SINK_H_
