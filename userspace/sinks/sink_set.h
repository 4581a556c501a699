// The configured alert sinks, built from the config and rebuilt on reload:
// a sink whose settings did not change is kept, queue and connection included.
#ifndef PERMSENTRY_SINKS_SINK_SET_H_
#define PERMSENTRY_SINKS_SINK_SET_H_

#include <memory>
#include <string>
#include <vector>

#include "common/severity.h"
#include "sinks/file_sink.h"
#include "sinks/sink.h"
#include "sinks/syslog_sink.h"
#include "sinks/webhook_sink.h"

namespace permsentry {

// One `sinks:` entry of the config.
struct SinkConfig {
  enum class Type { kFile, kJournald, kSyslog, kWebhook };
  Type type = Type::kFile;
  Severity min_severity = Severity::kLow;
  size_t queue = 10000;
  int max_attempts = 0;  // 0: until delivered or the sensor stops
  FileSinkConfig file;
  SyslogSinkConfig syslog;
  WebhookSinkConfig webhook;
  std::string origin;  // FILE:LINE of the entry
  // Every setting as text: a reload keeps a sink whose key did not change.
  std::string key;
  // "file /var/log/permsentry/alerts.jsonl", "syslog 10.0.0.5:514", ...
  std::string Describe() const;
};

std::unique_ptr<Sink> MakeSink(const SinkConfig& c);

class SinkSet {
 public:
  ~SinkSet() { StopAll(absl::ZeroDuration()); }
  // Make the set what `configs` says. Sinks no longer wanted are returned, for
  // the caller to stop (their queues drain meanwhile).
  std::vector<std::unique_ptr<Sink>> Reconcile(const std::vector<SinkConfig>& configs);
  // Every sink that wants this severity gets it. Never blocks.
  void Dispatch(const std::shared_ptr<const AlertRecord>& r);
  bool empty() const { return sinks_.empty(); }
  struct Report {
    std::string name;
    SinkStats stats;
  };
  std::vector<Report> Stats() const;
  void StopAll(absl::Duration grace);

 private:
  struct Entry {
    std::string key;
    std::unique_ptr<Sink> sink;
  };
  std::vector<Entry> sinks_;
};

}  // namespace permsentry

#endif  // PERMSENTRY_SINKS_SINK_SET_H_
