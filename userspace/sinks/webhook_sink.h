// Alerts as HTTP POSTs: the ECS JSON itself, or a Slack-compatible
// {"text": "..."} that Slack, Mattermost, Rocket.Chat and Teams workflows take
// as is. 2xx is delivered; 429, 5xx and connection failures are retried with
// backoff; any other status is given up (counted: a wrong URL or token does
// not heal by retrying).
#ifndef PERMSENTRY_SINKS_WEBHOOK_SINK_H_
#define PERMSENTRY_SINKS_WEBHOOK_SINK_H_

#include <string>
#include <vector>

#include "sinks/sink.h"

namespace permsentry {

struct WebhookSinkConfig {
  std::string url;
  bool slack = false;                // the Slack text form instead of the JSON
  std::vector<std::string> headers;  // "Authorization: Bearer ..."
  absl::Duration timeout = absl::Seconds(5);
};

// {"text":"*HIGH* setid-bit-added on host: ..."}
std::string SlackPayload(const AlertRecord& r, absl::string_view hostname);

class WebhookSink : public Sink {
 public:
  WebhookSink(Options options, WebhookSinkConfig config);
  ~WebhookSink() override;

 private:
  absl::Status Deliver(const AlertRecord& r) override;

  WebhookSinkConfig config_;
  std::string hostname_;
  void* curl_ = nullptr;  // CURL*, used by the worker thread only
};

}  // namespace permsentry

#endif  // PERMSENTRY_SINKS_WEBHOOK_SINK_H_
