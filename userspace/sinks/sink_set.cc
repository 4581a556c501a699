#include "sinks/sink_set.h"

#include <algorithm>
#include <thread>

#include "absl/strings/str_cat.h"
#include "sinks/journald_sink.h"

namespace permsentry {

std::string SinkConfig::Describe() const {
  switch (type) {
    case Type::kFile:
      return absl::StrCat("file ", file.path);
    case Type::kJournald:
      return "journald";
    case Type::kSyslog:
      return absl::StrCat("syslog ", syslog.host, ":", syslog.port);
    case Type::kWebhook:
      return absl::StrCat("webhook ", webhook.url);
  }
  return "sink";
}

std::unique_ptr<Sink> MakeSink(const SinkConfig& c) {
  Sink::Options o{.name = c.Describe(),
                  .min_severity = c.min_severity,
                  .queue_max = c.queue,
                  .max_attempts = c.max_attempts};
  switch (c.type) {
    case SinkConfig::Type::kFile:
      return std::make_unique<FileSink>(o, c.file);
    case SinkConfig::Type::kJournald:
      return std::make_unique<JournaldSink>(o);
    case SinkConfig::Type::kSyslog:
      return std::make_unique<SyslogSink>(o, c.syslog);
    case SinkConfig::Type::kWebhook:
      return std::make_unique<WebhookSink>(o, c.webhook);
  }
  return nullptr;
}

std::vector<std::unique_ptr<Sink>> SinkSet::Reconcile(const std::vector<SinkConfig>& configs) {
  std::vector<Entry> next;
  for (const SinkConfig& c : configs) {
    auto it = std::find_if(sinks_.begin(), sinks_.end(),
                           [&](const Entry& e) { return e.sink && e.key == c.key; });
    if (it != sinks_.end()) {
      next.push_back(std::move(*it));
    } else {
      next.push_back(Entry{.key = c.key, .sink = MakeSink(c)});
    }
  }
  std::vector<std::unique_ptr<Sink>> retired;
  for (Entry& e : sinks_)
    if (e.sink) retired.push_back(std::move(e.sink));
  sinks_ = std::move(next);
  return retired;
}

void SinkSet::Dispatch(const std::shared_ptr<const AlertRecord>& r) {
  for (Entry& e : sinks_)
    if (e.sink->Wants(r->severity)) e.sink->Submit(r);
}

std::vector<SinkSet::Report> SinkSet::Stats() const {
  std::vector<Report> out;
  for (const Entry& e : sinks_)
    out.push_back(Report{.name = e.sink->name(), .stats = e.sink->Stats()});
  return out;
}

void SinkSet::StopAll(absl::Duration grace) {
  // In parallel: a down webhook's grace must not add to a down collector's.
  std::vector<std::thread> stops;
  for (Entry& e : sinks_) stops.emplace_back([s = e.sink.get(), grace] { s->Stop(grace); });
  for (std::thread& t : stops) t.join();
}

}  // namespace permsentry
