// Runs the real `permsentry run` as a child process (root, real BPF, real
// kernel) and collects the JSON events it prints, flattened to dotted keys
// ("file.path" → "/tmp/x") so tests can assert on exact fields.
#ifndef PERMSENTRY_TESTS_INTEGRATION_SENSOR_HARNESS_H_
#define PERMSENTRY_TESTS_INTEGRATION_SENSOR_HARNESS_H_

#include <sys/types.h>

#include <condition_variable>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "absl/time/time.h"

namespace permsentry::testing {

using Event = std::map<std::string, std::string>;

// Flatten one JSON line; nested keys joined with '.', arrays indexed ("a.0").
// Returns nullopt when the line is not a JSON object.
std::optional<Event> FlattenJsonLine(const std::string& line);

class SensorProcess {
 public:
  // Starts `permsentry run --format json --ready-file ...` plus extra args, and
  // waits until it reports every program attached. With json = false (for
  // `--format text`), lines are kept as text (see Lines) instead of parsed.
  // `prefix`: a command that runs the sensor (setpriv with a capability set).
  explicit SensorProcess(std::vector<std::string> extra_args = {}, bool json = true,
                         std::vector<std::string> prefix = {});
  ~SensorProcess();

  bool ready() const { return ready_; }
  pid_t pid() const { return pid_; }

  // Later waits only consider events that arrive after this call (tests reuse fd
  // numbers and paths; a test must not match an earlier test's event).
  void StartWindow();

  // First event (since the last StartWindow) for which `match` holds, waiting up
  // to `timeout` (six times that in the VMs). Every line must be valid JSON: a
  // line that is not fails the test.
  std::optional<Event> WaitFor(const std::function<bool(const Event&)>& match,
                               absl::Duration timeout = absl::Seconds(5));
  // Convenience: the event of `syscall` made by `pid` on `path` (if non-empty):
  // the path argument as given (tracepoint backend) or the object's path.
  std::optional<Event> WaitForSyscall(pid_t pid, const std::string& syscall,
                                      const std::string& path = "",
                                      absl::Duration timeout = absl::Seconds(5));
  // Proof of absence: after `barrier` (a change by this thread whose event
  // `barrier_match` recognises) has arrived, the events since the window start
  // that match `match`. Events of one thread reach userspace in order, so one
  // that has not come before the barrier will not come.
  std::vector<Event> SeenBefore(const std::function<bool(const Event&)>& match,
                                const std::function<void()>& barrier,
                                const std::function<bool(const Event&)>& barrier_match);
  // The events since the last StartWindow matching `match` (no waiting).
  std::vector<Event> InWindow(const std::function<bool(const Event&)>& match);
  // All events so far matching `match` (no waiting).
  std::vector<Event> All(const std::function<bool(const Event&)>& match);

  size_t Count(const std::function<bool(const Event&)>& match);

  // SIGINT, wait, return exit status; stderr text is kept for inspection.
  int Stop();
  std::string Stderr();
  void Signal(int sig);
  size_t bad_lines() const { return bad_lines_; }
  // Text mode: the first line containing every one of `needles`, waiting up to `timeout`.
  std::optional<std::string> WaitForLine(const std::vector<std::string>& needles,
                                         absl::Duration timeout = absl::Seconds(5));

 private:
  void ReadLoop(int fd);

  pid_t pid_ = -1;
  bool ready_ = false;
  std::string ready_file_;
  std::string stderr_file_;
  std::thread reader_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool json_ = true;
  std::vector<Event> events_;
  std::vector<std::string> lines_;  // text mode
  size_t bad_lines_ = 0;
  size_t window_start_ = 0;
  bool eof_ = false;
  int exit_status_ = -1;
};

// The capture backend under test (PERMSENTRY_TEST_BACKEND): the rich one, or
// the tracepoint one (tp_btf, raw_tp, tracepoint, or unset on a host that
// refuses fentry).
bool RichBackend();
// A storm's size: `host`, or under emulation (PERMSENTRY_TEST_VM, set by
// tests/vm) `vm`: the VM runs check kernels and backends, not volume.
int Scaled(int host, int vm);

// Waits for child `pid` (default limit: Scaled(60, 600) s). One that has not
// ended by then fails the test, with where its threads are, and is killed: a
// stuck child is a named failure, never a suite that hangs. Its wait status.
int WaitChild(pid_t pid, absl::Duration limit = absl::ZeroDuration());

// Field `k` of an event, or "<missing>".
std::string Get(const Event& e, const std::string& k);

// The event's one-line summary: its message, or for an alert (whose message is
// the rule's) permsentry.summary.
std::string SummaryOf(const Event& e);

// Whether permsentry.access_delta holds `text` (in any position).
bool HasDelta(const Event& e, const std::string& text);

// Path of the permsentry binary under test.
std::string PermsentryBinary();

// Runs the binary with args (optionally as another uid, with gid `as_gid` or
// else the same number, no supplementary groups), returns exit status and
// what it printed.
struct CommandResult {
  int exit_code = -1;
  std::string out;
  std::string err;
};
CommandResult RunPermsentry(const std::vector<std::string>& args, uid_t as_uid = 0,
                            gid_t as_gid = static_cast<gid_t>(-1));

}  // namespace permsentry::testing

#endif  // PERMSENTRY_TESTS_INTEGRATION_SENSOR_HARNESS_H_
