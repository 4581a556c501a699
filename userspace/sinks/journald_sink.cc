#include "sinks/journald_sink.h"

#include <sys/uio.h>
#include <systemd/sd-journal.h>

#include <cstring>

#include "absl/strings/str_cat.h"

namespace permsentry {

int SyslogPriority(Severity s) {
  switch (s) {
    case Severity::kCritical:
      return 2;
    case Severity::kHigh:
      return 3;
    case Severity::kMedium:
      return 4;
    case Severity::kLow:
      return 5;
  }
  return 5;
}

std::vector<std::string> JournalFields(const AlertRecord& r) {
  std::vector<std::string> f;
  f.push_back(absl::StrCat("MESSAGE=", r.message));
  f.push_back(absl::StrCat("PRIORITY=", SyslogPriority(r.severity)));
  f.push_back("SYSLOG_IDENTIFIER=permsentry");
  for (const auto& [name, value] : r.fields)
    f.push_back(absl::StrCat("PERMSENTRY_", name, "=", value));
  f.push_back(absl::StrCat("PERMSENTRY_EVENT=", r.json));
  return f;
}

JournaldSink::JournaldSink(Options options) : Sink(std::move(options)) { Start(); }

JournaldSink::~JournaldSink() { Stop(absl::ZeroDuration()); }

absl::Status JournaldSink::Deliver(const AlertRecord& r) {
  const std::vector<std::string> fields = JournalFields(r);
  std::vector<iovec> iov;
  iov.reserve(fields.size());
  for (const std::string& f : fields)
    iov.push_back(iovec{.iov_base = const_cast<char*>(f.data()), .iov_len = f.size()});
  const int rc = sd_journal_sendv(iov.data(), static_cast<int>(iov.size()));
  if (rc < 0) {
    // No journald (ENOENT, ECONNREFUSED) or it is overloaded (EAGAIN): it may
    // come back.
    return absl::UnavailableError(absl::StrCat("sd_journal_sendv: ", strerror(-rc)));
  }
  return absl::OkStatus();
}

}  // namespace permsentry
