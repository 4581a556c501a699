#include "sinks/syslog_sink.h"

#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "common/names.h"
#include "sinks/journald_sink.h"

namespace permsentry {
namespace {

// RFC 5424 header fields are printable US-ASCII without spaces, bounded.
std::string HeaderField(absl::string_view s, size_t max) {
  std::string out;
  for (const char c : s) {
    if (out.size() == max) break;
    out.push_back(c >= 33 && c <= 126 ? c : '_');
  }
  return out.empty() ? "-" : out;
}

// PARAM-VALUE: '"', '\' and ']' are escaped with a backslash.
std::string ParamValue(absl::string_view v) {
  std::string out;
  for (const char c : v) {
    if (c == '"' || c == '\\' || c == ']') out.push_back('\\');
    out.push_back(c);
  }
  return out;
}

// SD-NAME: printable ASCII but '=', ' ', ']', '"'; at most 32.
std::string SdName(absl::string_view name) {
  std::string out;
  for (const char c : absl::AsciiStrToLower(name)) {
    if (out.size() == 32) break;
    out.push_back(c >= 33 && c <= 126 && c != '=' && c != ']' && c != '"' ? c : '_');
  }
  return out;
}

}  // namespace

std::optional<int> SyslogFacility(absl::string_view name) {
  static constexpr struct {
    absl::string_view name;
    int code;
  } kFacilities[] = {{"kern", 0},    {"user", 1},    {"mail", 2},      {"daemon", 3},
                     {"auth", 4},    {"syslog", 5},  {"lpr", 6},       {"news", 7},
                     {"uucp", 8},    {"cron", 9},    {"authpriv", 10}, {"ftp", 11},
                     {"local0", 16}, {"local1", 17}, {"local2", 18},   {"local3", 19},
                     {"local4", 20}, {"local5", 21}, {"local6", 22},   {"local7", 23}};
  for (const auto& f : kFacilities)
    if (f.name == name) return f.code;
  return std::nullopt;
}

std::string FormatRfc5424(const AlertRecord& r, const SyslogSinkConfig& c, int pid) {
  const int pri = c.facility * 8 + SyslogPriority(r.severity);
  std::string sd = absl::StrCat("[", c.sd_id);
  for (const auto& [name, value] : r.fields)
    absl::StrAppend(&sd, " ", SdName(name), "=\"", ParamValue(value), "\"");
  sd += "]";
  return absl::StrCat("<", pri, ">1 ",
                      absl::FormatTime("%Y-%m-%dT%H:%M:%E6SZ", r.time, absl::UTCTimeZone()), " ",
                      HeaderField(c.hostname.empty() ? Hostname() : c.hostname, 255), " ",
                      HeaderField(c.app_name, 48), " ", pid, " ", HeaderField(r.rule_id, 32), " ",
                      sd, " ", c.json_message ? r.json : r.message);
}

std::string OctetCounted(absl::string_view msg) { return absl::StrCat(msg.size(), " ", msg); }

SyslogSink::SyslogSink(Options options, SyslogSinkConfig config)
    : Sink(std::move(options)), config_(std::move(config)) {
  Start();
}

SyslogSink::~SyslogSink() {
  Stop(absl::ZeroDuration());
  Disconnect();
}

void SyslogSink::Disconnect() {
  if (fd_ >= 0) close(fd_);
  fd_ = -1;
}

absl::Status SyslogSink::Connect() {
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* res = nullptr;
  const int gai = getaddrinfo(config_.host.c_str(), config_.port.c_str(), &hints, &res);
  if (gai != 0) {
    return absl::UnavailableError(absl::StrCat("resolve ", config_.host, ": ", gai_strerror(gai)));
  }
  std::string err = "no address";
  const int timeout_ms = static_cast<int>(absl::ToInt64Milliseconds(config_.timeout));
  for (addrinfo* a = res; a != nullptr; a = a->ai_next) {
    const int fd = socket(a->ai_family, a->ai_socktype | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (fd < 0) continue;
    int rc = connect(fd, a->ai_addr, a->ai_addrlen);
    if (rc != 0 && errno == EINPROGRESS) {
      pollfd p{.fd = fd, .events = POLLOUT, .revents = 0};
      rc = poll(&p, 1, timeout_ms) == 1 ? 0 : -1;
      int so = ETIMEDOUT;
      socklen_t len = sizeof(so);
      if (rc == 0 && (getsockopt(fd, SOL_SOCKET, SO_ERROR, &so, &len) != 0 || so != 0)) rc = -1;
      if (rc != 0) errno = so;
    }
    if (rc == 0) {
      // Blocking from here, with a send timeout: the worker thread may wait,
      // capture never does.
      fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK);
      timeval tv{.tv_sec = timeout_ms / 1000, .tv_usec = (timeout_ms % 1000) * 1000};
      setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
      fd_ = fd;
      freeaddrinfo(res);
      return absl::OkStatus();
    }
    err = strerror(errno);
    close(fd);
  }
  freeaddrinfo(res);
  return absl::UnavailableError(
      absl::StrCat("connect ", config_.host, ":", config_.port, ": ", err));
}

absl::Status SyslogSink::Deliver(const AlertRecord& r) {
  if (fd_ >= 0) {
    // A collector never talks back: readable means it closed (or reset) the
    // connection. Writing first would lose this alert into a dead socket.
    pollfd p{.fd = fd_, .events = POLLIN, .revents = 0};
    if (poll(&p, 1, 0) > 0) {
      char b;
      if (recv(fd_, &b, 1, MSG_DONTWAIT | MSG_PEEK) <= 0) Disconnect();
    }
  }
  if (fd_ < 0) {
    if (absl::Status s = Connect(); !s.ok()) return s;
  }
  const std::string frame = OctetCounted(FormatRfc5424(r, config_, getpid()));
  size_t off = 0;
  while (off < frame.size()) {
    const ssize_t n = send(fd_, frame.data() + off, frame.size() - off, MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      const std::string err = strerror(errno);
      Disconnect();
      return absl::UnavailableError(
          absl::StrCat("send to ", config_.host, ":", config_.port, ": ", err));
    }
    off += static_cast<size_t>(n);
  }
  return absl::OkStatus();
}

}  // namespace permsentry
