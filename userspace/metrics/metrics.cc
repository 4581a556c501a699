#include "metrics/metrics.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "absl/status/status.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"

namespace permsentry {
namespace {

constexpr size_t kMaxClients = 16;
constexpr size_t kMaxRequest = 8192;
constexpr int64_t kClientTimeoutNs = 2'000'000'000;  // a silent client is dropped

// A label value: backslash, double quote and newline escaped.
std::string Label(absl::string_view v) {
  std::string out;
  out.reserve(v.size());
  for (char c : v) {
    if (c == '\\' || c == '"') {
      out += '\\';
      out += c;
    } else if (c == '\n') {
      out += "\\n";
    } else {
      out += c;
    }
  }
  return out;
}

class Text {
 public:
  void Family(const char* name, const char* type, const char* help) {
    absl::StrAppend(&out_, "# HELP ", name, " ", help, "\n# TYPE ", name, " ", type, "\n");
  }
  void Sample(const char* name, uint64_t v,
              std::initializer_list<std::pair<const char*, absl::string_view>> labels = {}) {
    absl::StrAppend(&out_, name);
    if (labels.size() > 0) {
      out_ += '{';
      bool first = true;
      for (const auto& [k, val] : labels) {
        absl::StrAppend(&out_, first ? "" : ",", k, "=\"", Label(val), "\"");
        first = false;
      }
      out_ += '}';
    }
    absl::StrAppend(&out_, " ", v, "\n");
  }
  std::string Take() { return std::move(out_); }

 private:
  std::string out_;
};

}  // namespace

std::string PrometheusText(const MetricsSnapshot& s) {
  Text t;
  t.Family("permsentry_build_info", "gauge", "Version and capture backend of the running sensor.");
  t.Sample("permsentry_build_info", 1,
           {{"version", s.version}, {"backend", s.backend}, {"flavour", s.flavour}});
  t.Family("permsentry_programs_attached", "gauge", "BPF programs attached to kernel hooks.");
  t.Sample("permsentry_programs_attached", s.programs_attached);
  t.Family("permsentry_events_total", "counter",
           "Operations reported, by event.action and event.outcome.");
  for (const auto& [k, v] : s.events)
    t.Sample("permsentry_events_total", v, {{"action", k.first}, {"outcome", k.second}});
  t.Family("permsentry_events_lost_total", "counter",
           "Events the kernel could not hand over, by ring (bulk: the ring was full).");
  t.Sample("permsentry_events_lost_total", s.lost_bulk, {{"ring", "bulk"}});
  t.Family("permsentry_alert_candidates_rerouted_total", "counter",
           "Alert candidates sent through the bulk ring because the wakeup ring was full.");
  t.Sample("permsentry_alert_candidates_rerouted_total", s.rerouted_urgent);
  t.Family("permsentry_records_undecodable_total", "counter", "Records that failed to decode.");
  t.Sample("permsentry_records_undecodable_total", s.undecodable);
  t.Family("permsentry_alerts_total", "counter", "Alerts raised, by rule and severity.");
  for (const auto& [k, v] : s.alerts)
    t.Sample("permsentry_alerts_total", v, {{"rule", k.first}, {"severity", k.second}});
  t.Family("permsentry_alert_repeats_coalesced_total", "counter",
           "Repeats of an alert counted into its summary instead of sent.");
  t.Sample("permsentry_alert_repeats_coalesced_total", s.repeats_coalesced);
  t.Family("permsentry_kernel_repeats_total", "counter",
           "Identical calls counted in the kernel and reported as repeats of an event (also "
           "in permsentry_events_total).");
  t.Sample("permsentry_kernel_repeats_total", s.kernel_repeats);
  t.Family("permsentry_stdout_dropped_total", "counter",
           "Events not written to a stdout reader that fell behind.");
  t.Sample("permsentry_stdout_dropped_total", s.stdout_dropped);
  // The per-sink families: one sample per sink each.
  struct SinkFamily {
    const char* name;
    const char* type;
    const char* help;
    uint64_t MetricsSnapshot::Sink::*value;
  };
  static constexpr SinkFamily kSinkFamilies[] = {
      {"permsentry_sink_delivered_total", "counter", "Alerts delivered, by sink.",
       &MetricsSnapshot::Sink::delivered},
      {"permsentry_sink_dropped_total", "counter", "Alerts dropped with a sink's queue full.",
       &MetricsSnapshot::Sink::dropped},
      {"permsentry_sink_failed_total", "counter", "Alerts a sink gave up on after its attempts.",
       &MetricsSnapshot::Sink::failed},
      {"permsentry_sink_queued", "gauge", "Alerts waiting in a sink's queue.",
       &MetricsSnapshot::Sink::queued},
  };
  for (const SinkFamily& f : kSinkFamilies) {
    t.Family(f.name, f.type, f.help);
    for (const auto& k : s.sinks) t.Sample(f.name, k.*f.value, {{"sink", k.name}});
  }
  t.Family("permsentry_tail_clients", "gauge", "Connected `permsentry tail` clients.");
  t.Sample("permsentry_tail_clients", s.tail_clients);
  t.Family("permsentry_ai_sessions", "gauge", "Live AI agent sessions, by agent.");
  for (const auto& [agent, n] : s.sessions_by_agent)
    t.Sample("permsentry_ai_sessions", n, {{"agent", agent}});
  t.Family("permsentry_process_table_entries", "gauge", "Processes in the kernel's table.");
  t.Sample("permsentry_process_table_entries", s.kernel_processes);
  t.Family("permsentry_processes_untracked_total", "counter",
           "New processes not tracked because the table was full.");
  t.Sample("permsentry_processes_untracked_total", s.untracked_processes);
  t.Family("permsentry_config_generation", "gauge",
           "The configuration in force: 1 at start, +1 per reload applied.");
  t.Sample("permsentry_config_generation", s.config_generation);
  t.Family("permsentry_config_last_reload_failed", "gauge",
           "1 when the last reload was refused (the previous config kept).");
  t.Sample("permsentry_config_last_reload_failed", s.config_reload_failed ? 1 : 0);
  return t.Take();
}

absl::StatusOr<std::unique_ptr<MetricsServer>> MetricsServer::Listen(absl::string_view address) {
  std::pair<std::string, std::string> hp = absl::StrSplit(address, absl::MaxSplits(':', 1));
  uint32_t port = 0;
  if (!absl::SimpleAtoi(hp.second, &port) || port > 65535)
    return absl::InvalidArgumentError(
        absl::StrCat("metrics address \"", address, "\": expected HOST:PORT"));
  if (hp.first == "localhost") hp.first = "127.0.0.1";
  sockaddr_in sa{};
  sa.sin_family = AF_INET;
  sa.sin_port = htons(static_cast<uint16_t>(port));
  if (inet_pton(AF_INET, hp.first.c_str(), &sa.sin_addr) != 1)
    return absl::InvalidArgumentError(
        absl::StrCat("metrics address \"", address, "\": not an IPv4 address"));
  const int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) return absl::InternalError(absl::StrCat("metrics socket: ", strerror(errno)));
  const int one = 1;
  setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
  if (bind(fd, reinterpret_cast<sockaddr*>(&sa), sizeof(sa)) != 0 || listen(fd, 16) != 0) {
    const int err = errno;
    close(fd);
    return absl::FailedPreconditionError(
        absl::StrCat("cannot listen on ", address, " for metrics: ", strerror(err)));
  }
  socklen_t len = sizeof(sa);
  getsockname(fd, reinterpret_cast<sockaddr*>(&sa), &len);
  const int epfd = epoll_create1(EPOLL_CLOEXEC);
  epoll_event ev{.events = EPOLLIN, .data = {.fd = fd}};
  epoll_ctl(epfd, EPOLL_CTL_ADD, fd, &ev);
  return std::unique_ptr<MetricsServer>(
      new MetricsServer(fd, epfd, absl::StrCat(hp.first, ":", ntohs(sa.sin_port))));
}

MetricsServer::~MetricsServer() {
  for (const Client& c : clients_) close(c.fd);
  close(epfd_);
  close(listen_fd_);
}

void MetricsServer::Drop(size_t i) {
  epoll_ctl(epfd_, EPOLL_CTL_DEL, clients_[i].fd, nullptr);
  close(clients_[i].fd);
  clients_.erase(clients_.begin() + static_cast<std::ptrdiff_t>(i));
}

void MetricsServer::Answer(Client& c, const std::function<std::string()>& body) {
  const bool get = absl::StartsWith(c.request, "GET ");
  const absl::string_view target =
      get ? absl::string_view(c.request).substr(4, c.request.find(' ', 4) - 4) : "";
  std::string response;
  if (get && (target == "/metrics" || absl::StartsWith(target, "/metrics?"))) {
    const std::string b = body();
    ++scrapes_;
    response = absl::StrCat(
        "HTTP/1.1 200 OK\r\nContent-Type: text/plain; version=0.0.4; charset=utf-8\r\n"
        "Content-Length: ",
        b.size(), "\r\nConnection: close\r\n\r\n", b);
  } else {
    const absl::string_view b = "only GET /metrics is served here\n";
    response = absl::StrCat(get ? "HTTP/1.1 404 Not Found" : "HTTP/1.1 405 Method Not Allowed",
                            "\r\nContent-Type: text/plain\r\nContent-Length: ", b.size(),
                            "\r\nConnection: close\r\n\r\n", b);
  }
  // The socket's buffer takes a scrape whole; a client that does not read is
  // not waited for.
  size_t off = 0;
  while (off < response.size()) {
    const ssize_t n =
        send(c.fd, response.data() + off, response.size() - off, MSG_DONTWAIT | MSG_NOSIGNAL);
    if (n <= 0) break;
    off += static_cast<size_t>(n);
  }
}

void MetricsServer::Service(const std::function<std::string()>& body) {
  const int64_t now = absl::GetCurrentTimeNanos();
  for (;;) {
    const int fd = accept4(listen_fd_, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd < 0) break;
    if (clients_.size() >= kMaxClients) {
      close(fd);
      continue;
    }
    epoll_event ev{.events = EPOLLIN, .data = {.fd = fd}};
    epoll_ctl(epfd_, EPOLL_CTL_ADD, fd, &ev);
    clients_.push_back(Client{.fd = fd, .request = {}, .deadline_ns = now + kClientTimeoutNs});
  }
  for (size_t i = 0; i < clients_.size();) {
    Client& c = clients_[i];
    char buf[2048];
    ssize_t n;
    bool closed = false;
    while ((n = recv(c.fd, buf, sizeof(buf), MSG_DONTWAIT)) > 0) {
      c.request.append(buf, static_cast<size_t>(n));
      if (c.request.size() > kMaxRequest) break;
    }
    if (n == 0) closed = true;
    if (c.request.find("\r\n\r\n") != std::string::npos || c.request.size() > kMaxRequest) {
      Answer(c, body);
      Drop(i);
    } else if (closed || now > c.deadline_ns) {
      Drop(i);
    } else {
      ++i;
    }
  }
}

}  // namespace permsentry
