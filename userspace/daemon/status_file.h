// The running sensor's state for `permsentry status`: live AI sessions with
// their counts of changes, and the process table's size. Published as a JSON
// file (replaced atomically) so reading it needs no connection to the sensor.
#ifndef PERMSENTRY_DAEMON_STATUS_FILE_H_
#define PERMSENTRY_DAEMON_STATUS_FILE_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "attribute/process_table.h"
#include "sinks/sink_set.h"
#include "sinks/tail_server.h"

namespace permsentry {

struct StatusSnapshot {
  uint32_t pid = 0;
  absl::Time started;
  absl::Time now;
  std::string backend;                      // "rich" or "tracepoint"
  std::string backend_flavour;              // "fentry", "tp_btf" or "raw_tp"
  std::string backend_reason;               // why this backend runs
  std::vector<std::string> backend_limits;  // what it cannot see on this kernel
  uint64_t events = 0;
  uint64_t lost = 0;
  size_t kernel_processes = 0;       // entries in the kernel's process table
  size_t live_processes = 0;         // userspace's copy: live
  size_t exited_processes = 0;       // userspace's copy: exited, kept for late events
  uint64_t untracked_processes = 0;  // not entered: table full
  std::vector<AiSession> sessions;
  uint64_t alerts = 0;
  uint64_t stdout_dropped = 0;  // events not written to a slow stdout reader
  std::vector<SinkSet::Report> sinks;
  std::string tail_socket;  // empty: no tail server
  TailServerStats tail;
  // The configuration in force: its file (empty: built-in), generation (1 at
  // start, +1 per reload applied), when it was loaded, and why the last reload
  // was refused (empty: it was not).
  std::string config_path;
  uint64_t config_generation = 0;
  absl::Time config_loaded;
  std::string config_error;
};

std::string StatusJson(const StatusSnapshot& s);

class StatusWriter {
 public:
  explicit StatusWriter(std::string path) : path_(std::move(path)) {}
  // Write to a temporary file and rename it over the path (mode 0640).
  absl::Status Write(const StatusSnapshot& s);
  void Remove();

 private:
  std::string path_;
  bool warned_ = false;
};

}  // namespace permsentry

#endif  // PERMSENTRY_DAEMON_STATUS_FILE_H_
