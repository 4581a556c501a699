// Alerts to a central syslog collector: RFC 5424 messages over TCP with
// octet-counting framing (RFC 6587), which rsyslog, syslog-ng and most SIEM
// collectors take on a plain TCP input.
//
//   <PRI>1 TIMESTAMP HOSTNAME permsentry PID RULE-ID [permsentry@32473 rule="..."
//   severity="..." path="..." ...] {"@timestamp":...the ECS JSON...}
//
// PRI is facility * 8 + the severity's syslog priority. The connection is made
// on the first alert and again after any failure, with backoff; a collector
// that closed the connection is noticed before the next write.
#ifndef PERMSENTRY_SINKS_SYSLOG_SINK_H_
#define PERMSENTRY_SINKS_SYSLOG_SINK_H_

#include <cstdint>
#include <optional>
#include <string>

#include "sinks/sink.h"

namespace permsentry {

struct SyslogSinkConfig {
  std::string host;
  std::string port;
  int facility = 4;  // auth ("security/authorization messages")
  std::string app_name = "permsentry";
  std::string hostname;  // the HOSTNAME field; this host's name when empty
  // The structured-data id. 32473 is the enterprise number RFC 5612 sets aside
  // for examples; set your own where the collector filters on it.
  std::string sd_id = "permsentry@32473";
  bool json_message = true;  // MSG: the ECS JSON line (true) or the alert text
  absl::Duration timeout = absl::Seconds(3);
};

// "auth" → 4, "local0" → 16, ...
std::optional<int> SyslogFacility(absl::string_view name);

// One RFC 5424 message (no framing).
std::string FormatRfc5424(const AlertRecord& r, const SyslogSinkConfig& c, int pid);
// RFC 6587 octet counting: "LEN SP MSG".
std::string OctetCounted(absl::string_view msg);

class SyslogSink : public Sink {
 public:
  SyslogSink(Options options, SyslogSinkConfig config);
  ~SyslogSink() override;

 private:
  absl::Status Deliver(const AlertRecord& r) override;
  absl::Status Connect();
  void Disconnect();

  SyslogSinkConfig config_;
  int fd_ = -1;
};

}  // namespace permsentry

#endif  // PERMSENTRY_SINKS_SYSLOG_SINK_H_
