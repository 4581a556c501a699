// Alerts to the systemd journal with native fields: MESSAGE, PRIORITY (from the
// severity), SYSLOG_IDENTIFIER=permsentry, PERMSENTRY_RULE=, PERMSENTRY_SEVERITY=,
// PERMSENTRY_PATH=, ... and PERMSENTRY_EVENT= holding the whole JSON line, so
// `journalctl -o json PERMSENTRY_RULE=sudoers-changed` finds and explains it.
#ifndef PERMSENTRY_SINKS_JOURNALD_SINK_H_
#define PERMSENTRY_SINKS_JOURNALD_SINK_H_

#include <string>
#include <vector>

#include "sinks/sink.h"

namespace permsentry {

// Severity → syslog priority: critical 2 (crit), high 3 (err), medium 4
// (warning), low 5 (notice).
int SyslogPriority(Severity s);

// The journal fields of an alert, "NAME=value" each (values may hold any byte,
// newlines included: the journal protocol carries them).
std::vector<std::string> JournalFields(const AlertRecord& r);

class JournaldSink : public Sink {
 public:
  explicit JournaldSink(Options options);
  ~JournaldSink() override;

 private:
  absl::Status Deliver(const AlertRecord& r) override;
};

}  // namespace permsentry

#endif  // PERMSENTRY_SINKS_JOURNALD_SINK_H_
