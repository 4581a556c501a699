#include "sensor_harness.h"

#include <fcntl.h>
#include <grp.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <optional>
#include <sstream>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/time/clock.h"
#include "gtest/gtest.h"
#include "rapidjson/document.h"

namespace permsentry::testing {
namespace {

void Flatten(const rapidjson::Value& v, const std::string& prefix, Event& out) {
  if (v.IsObject()) {
    for (auto it = v.MemberBegin(); it != v.MemberEnd(); ++it) {
      const std::string key(it->name.GetString(), it->name.GetStringLength());
      Flatten(it->value, prefix.empty() ? key : prefix + "." + key, out);
    }
  } else if (v.IsArray()) {
    for (rapidjson::SizeType i = 0; i < v.Size(); ++i)
      Flatten(v[i], absl::StrCat(prefix, ".", i), out);
    if (v.Empty()) out[prefix] = "[]";
  } else if (v.IsString()) {
    out[prefix] = std::string(v.GetString(), v.GetStringLength());
  } else if (v.IsBool()) {
    out[prefix] = v.GetBool() ? "true" : "false";
  } else if (v.IsInt64()) {
    out[prefix] = std::to_string(v.GetInt64());
  } else if (v.IsUint64()) {
    out[prefix] = std::to_string(v.GetUint64());
  } else if (v.IsNull()) {
    out[prefix] = "null";
  } else {
    out[prefix] = std::to_string(v.GetDouble());
  }
}

std::string ReadFile(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::string TempName(const char* what) {
  return absl::StrCat("/tmp/permsentry-test-", getpid(), "-", what, "-",
                      absl::ToUnixNanos(absl::Now()));
}

}  // namespace

std::optional<Event> FlattenJsonLine(const std::string& line) {
  rapidjson::Document doc;
  doc.Parse<rapidjson::kParseValidateEncodingFlag>(line.c_str(), line.size());
  if (doc.HasParseError() || !doc.IsObject()) return std::nullopt;
  Event e;
  Flatten(doc, "", e);
  return e;
}

std::string PermsentryBinary() {
  if (const char* env = std::getenv("PERMSENTRY_BIN")) return env;
  return PERMSENTRY_BIN;
}

SensorProcess::SensorProcess(std::vector<std::string> extra_args, bool json,
                             std::vector<std::string> prefix)
    : json_(json) {
  ready_file_ = TempName("ready");
  stderr_file_ = TempName("stderr");
  int pipefd[2];
  if (pipe2(pipefd, O_CLOEXEC) != 0) return;
  std::vector<std::string> args = {PermsentryBinary(), "run",      "--format", "json",
                                   "--ready-file",     ready_file_};
  // The suite runs once per backend (ctest and tests/vm set this): tp_btf and
  // raw_tp on the host, tracepoint and rich in the VMs.
  if (const char* backend = std::getenv("PERMSENTRY_TEST_BACKEND")) {
    args.push_back("--backend");
    args.push_back(backend);
  }
  args.insert(args.end(), extra_args.begin(), extra_args.end());
  args.insert(args.begin(), prefix.begin(), prefix.end());
  pid_ = fork();
  if (pid_ == 0) {
    dup2(pipefd[1], STDOUT_FILENO);
    const int err = open(stderr_file_.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
    dup2(err, STDERR_FILENO);
    std::vector<char*> argv;
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    execv(argv[0], argv.data());
    _exit(127);
  }
  close(pipefd[1]);
  reader_ = std::thread(&SensorProcess::ReadLoop, this, pipefd[0]);
  // Loading means the kernel verifies every program: about a second here, far
  // longer under an emulated CPU (the qemu runs set a longer wait).
  int wait_s = 20;
  if (const char* w = std::getenv("PERMSENTRY_TEST_READY_TIMEOUT_S")) wait_s = std::atoi(w);
  const absl::Time deadline = absl::Now() + absl::Seconds(wait_s);
  while (absl::Now() < deadline) {
    if (access(ready_file_.c_str(), F_OK) == 0) {
      ready_ = true;
      return;
    }
    int status;
    if (waitpid(pid_, &status, WNOHANG) == pid_) {
      exit_status_ = status;
      pid_ = -1;
      ADD_FAILURE() << "permsentry run exited before it was ready: " << Stderr();
      return;
    }
    absl::SleepFor(absl::Milliseconds(10));
  }
  ADD_FAILURE() << "permsentry run was not ready after " << wait_s << " s: " << Stderr();
}

SensorProcess::~SensorProcess() {
  if (pid_ > 0) Stop();
  if (reader_.joinable()) reader_.join();
  unlink(stderr_file_.c_str());
}

void SensorProcess::ReadLoop(int fd) {
  std::string buf;
  char chunk[65536];
  for (;;) {
    const ssize_t n = read(fd, chunk, sizeof(chunk));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    buf.append(chunk, static_cast<size_t>(n));
    size_t start = 0;
    for (size_t nl; (nl = buf.find('\n', start)) != std::string::npos; start = nl + 1) {
      std::string line = buf.substr(start, nl - start);
      if (!json_) {
        std::lock_guard<std::mutex> lock(mu_);
        lines_.push_back(std::move(line));
        continue;
      }
      std::optional<Event> e = FlattenJsonLine(line);
      std::lock_guard<std::mutex> lock(mu_);
      if (e) {
        events_.push_back(std::move(*e));
      } else {
        ++bad_lines_;
        ADD_FAILURE() << "sensor printed a line that is not one JSON object: "
                      << buf.substr(start, std::min<size_t>(nl - start, 300));
      }
    }
    buf.erase(0, start);
    cv_.notify_all();
  }
  close(fd);
  std::lock_guard<std::mutex> lock(mu_);
  eof_ = true;
  cv_.notify_all();
}

void SensorProcess::StartWindow() {
  std::lock_guard<std::mutex> lock(mu_);
  window_start_ = events_.size();
}

std::optional<Event> SensorProcess::WaitFor(const std::function<bool(const Event&)>& match,
                                            absl::Duration timeout) {
  // Under emulation everything takes longer, rendering included; a wait is a
  // ceiling on a fact, so a longer one only slows a failure.
  timeout *= Scaled(1, 6);
  std::unique_lock<std::mutex> lock(mu_);
  size_t scanned = window_start_;
  const auto deadline = std::chrono::steady_clock::now() + absl::ToChronoNanoseconds(timeout);
  for (;;) {
    for (; scanned < events_.size(); ++scanned)
      if (match(events_[scanned])) return events_[scanned];
    if (eof_) return std::nullopt;
    if (cv_.wait_until(lock, deadline) == std::cv_status::timeout) {
      for (; scanned < events_.size(); ++scanned)
        if (match(events_[scanned])) return events_[scanned];
      return std::nullopt;
    }
  }
}

std::optional<std::string> SensorProcess::WaitForLine(const std::vector<std::string>& needles,
                                                      absl::Duration timeout) {
  std::unique_lock<std::mutex> lock(mu_);
  size_t scanned = 0;
  const auto deadline = std::chrono::steady_clock::now() + absl::ToChronoNanoseconds(timeout);
  for (;;) {
    for (; scanned < lines_.size(); ++scanned) {
      bool all = true;
      for (const std::string& n : needles)
        all = all && lines_[scanned].find(n) != std::string::npos;
      if (all) return lines_[scanned];
    }
    if (eof_ || cv_.wait_until(lock, deadline) == std::cv_status::timeout) {
      if (scanned == lines_.size()) return std::nullopt;
    }
  }
}

std::optional<Event> SensorProcess::WaitForSyscall(pid_t pid, const std::string& syscall,
                                                   const std::string& path,
                                                   absl::Duration timeout) {
  const std::string pid_s = std::to_string(pid);
  return WaitFor(
      [&](const Event& e) {
        auto get = [&](const char* k) {
          auto it = e.find(k);
          return it == e.end() ? std::string() : it->second;
        };
        return get("process.pid") == pid_s && get("permsentry.syscall") == syscall &&
               (path.empty() || get("permsentry.path_arg") == path || get("file.path") == path);
      },
      timeout);
}

std::vector<Event> SensorProcess::SeenBefore(
    const std::function<bool(const Event&)>& match, const std::function<void()>& barrier,
    const std::function<bool(const Event&)>& barrier_match) {
  size_t start;
  {
    std::lock_guard<std::mutex> lock(mu_);
    start = window_start_;
  }
  barrier();
  EXPECT_TRUE(WaitFor(barrier_match, absl::Seconds(10))) << "the barrier event never came";
  std::lock_guard<std::mutex> lock(mu_);
  std::vector<Event> out;
  for (size_t i = start; i < events_.size(); ++i)
    if (match(events_[i])) out.push_back(events_[i]);
  return out;
}

std::vector<Event> SensorProcess::InWindow(const std::function<bool(const Event&)>& match) {
  std::lock_guard<std::mutex> lock(mu_);
  std::vector<Event> out;
  for (size_t i = window_start_; i < events_.size(); ++i)
    if (match(events_[i])) out.push_back(events_[i]);
  return out;
}

std::vector<Event> SensorProcess::All(const std::function<bool(const Event&)>& match) {
  std::lock_guard<std::mutex> lock(mu_);
  std::vector<Event> out;
  for (const Event& e : events_)
    if (match(e)) out.push_back(e);
  return out;
}

size_t SensorProcess::Count(const std::function<bool(const Event&)>& match) {
  std::lock_guard<std::mutex> lock(mu_);
  size_t n = 0;
  for (const Event& e : events_) n += match(e) ? 1 : 0;
  return n;
}

void SensorProcess::Signal(int sig) {
  if (pid_ > 0) kill(pid_, sig);
}

namespace {

// Waits up to `timeout` for `pid` to end; its wait status, or nullopt.
std::optional<int> WaitExit(pid_t pid, absl::Duration timeout) {
  const absl::Time deadline = absl::Now() + timeout;
  for (;;) {
    int status = 0;
    if (waitpid(pid, &status, WNOHANG) == pid) return status;
    if (absl::Now() >= deadline) return std::nullopt;
    absl::SleepFor(absl::Milliseconds(10));
  }
}

// Where each thread of `pid` is: state, wait channel and kernel stack, for a
// sensor that does not stop.
std::string ThreadsOf(pid_t pid) {
  std::string out;
  const std::string dir = absl::StrCat("/proc/", pid, "/task");
  std::error_code ec;
  for (const auto& t : std::filesystem::directory_iterator(dir, ec)) {
    const std::string p = t.path().string();
    absl::StrAppend(&out, "\n  thread ", t.path().filename().string(), ": ", ReadFile(p + "/stat"),
                    "  wchan ", ReadFile(p + "/wchan"), "\n", ReadFile(p + "/stack"));
  }
  return out;
}

// Waits up to `limit` for `pid`; one still running then fails the test (`what`
// and where its threads are, then `more()` if given) and is killed. Its wait
// status.
int WaitOrKill(pid_t pid, absl::Duration limit, const std::string& what,
               const std::function<std::string()>& more = nullptr) {
  std::optional<int> status = WaitExit(pid, limit);
  if (!status) {
    ADD_FAILURE() << what << " (pid " << pid << ") still running after " << limit
                  << "; its threads:" << ThreadsOf(pid) << (more ? "\n" + more() : "");
    kill(pid, SIGKILL);
    status = WaitExit(pid, limit);
  }
  return status.value_or(W_EXITCODE(125, 0));
}

}  // namespace

int SensorProcess::Stop() {
  if (pid_ > 0) {
    kill(pid_, SIGINT);
    // A sensor that does not stop is a failure that names where it is stuck,
    // never a suite that hangs.
    exit_status_ = WaitOrKill(pid_, absl::Seconds(Scaled(30, 180)), "permsentry run, sent SIGINT,",
                              [this] { return "stderr: " + Stderr(); });
    pid_ = -1;
  }
  if (reader_.joinable()) reader_.join();
  return WIFEXITED(exit_status_) ? WEXITSTATUS(exit_status_) : 128 + WTERMSIG(exit_status_);
}

std::string SensorProcess::Stderr() { return ReadFile(stderr_file_); }

CommandResult RunPermsentry(const std::vector<std::string>& args, uid_t as_uid, gid_t as_gid) {
  const gid_t gid = as_gid == static_cast<gid_t>(-1) ? as_uid : as_gid;
  const std::string out_file = TempName("out"), err_file = TempName("err");
  std::vector<std::string> argv_s = {PermsentryBinary()};
  argv_s.insert(argv_s.end(), args.begin(), args.end());
  const pid_t pid = fork();
  if (pid == 0) {
    const int in = open("/dev/null", O_RDONLY);
    const int out = open(out_file.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0666);
    const int err = open(err_file.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0666);
    dup2(in, STDIN_FILENO);
    dup2(out, STDOUT_FILENO);
    dup2(err, STDERR_FILENO);
    if (as_uid != 0 && (setgroups(0, nullptr) != 0 || setresgid(gid, gid, gid) != 0 ||
                        setresuid(as_uid, as_uid, as_uid) != 0)) {
      _exit(126);
    }
    std::vector<char*> argv;
    for (auto& a : argv_s) argv.push_back(a.data());
    argv.push_back(nullptr);
    execv(argv[0], argv.data());
    _exit(127);
  }
  // Bounded like the sensor's stop: a command that hangs fails its test.
  const int status =
      WaitOrKill(pid, absl::Seconds(Scaled(120, 900)), "permsentry " + absl::StrJoin(args, " "));
  CommandResult r{.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1,
                  .out = ReadFile(out_file),
                  .err = ReadFile(err_file)};
  unlink(out_file.c_str());
  unlink(err_file.c_str());
  return r;
}

int WaitChild(pid_t pid, absl::Duration limit) {
  if (limit == absl::ZeroDuration()) limit = absl::Seconds(Scaled(60, 600));
  return WaitOrKill(pid, limit, "child");
}

bool RichBackend() {
  const char* b = std::getenv("PERMSENTRY_TEST_BACKEND");
  return b != nullptr && std::string(b) == "rich";
}

int Scaled(int host, int vm) {
  const char* env = std::getenv("PERMSENTRY_TEST_VM");
  return env != nullptr && *env != '\0' && *env != '0' ? vm : host;
}

std::string Get(const Event& e, const std::string& k) {
  auto it = e.find(k);
  return it == e.end() ? "<missing>" : it->second;
}

std::string SummaryOf(const Event& e) {
  auto it = e.find("permsentry.summary");
  if (it != e.end()) return it->second;
  return Get(e, "message");
}

bool HasDelta(const Event& e, const std::string& text) {
  for (int i = 0;; ++i) {
    auto it = e.find("permsentry.access_delta." + std::to_string(i));
    if (it == e.end()) return false;
    if (it->second == text) return true;
  }
}

}  // namespace permsentry::testing
