// Health a fleet can scrape: the sensor's counters in Prometheus's text
// exposition format, served over HTTP on a loopback (or configured) address.
// The daemon fills a snapshot when a scrape arrives; nothing here reads the
// kernel or the pipeline itself.
#ifndef PERMSENTRY_METRICS_METRICS_H_
#define PERMSENTRY_METRICS_METRICS_H_

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace permsentry {

struct MetricsSnapshot {
  std::string version;
  std::string backend;  // "rich" or "tracepoint"
  std::string flavour;  // "fentry", "tp_btf", "raw_tp"
  uint64_t programs_attached = 0;
  // (action, outcome) → events, outcome "success", "failure" or "unknown".
  std::vector<std::pair<std::pair<std::string, std::string>, uint64_t>> events;
  uint64_t undecodable = 0;
  uint64_t lost_bulk = 0;        // ring full: events gone
  uint64_t rerouted_urgent = 0;  // wakeup ring full: alert candidates sent via bulk
  // (rule, severity) → alerts sent (summaries of repeats included).
  std::vector<std::pair<std::pair<std::string, std::string>, uint64_t>> alerts;
  uint64_t repeats_coalesced = 0;
  uint64_t kernel_repeats = 0;  // identical calls counted in the kernel, reported
  uint64_t stdout_dropped = 0;
  struct Sink {
    std::string name;
    uint64_t delivered = 0, dropped = 0, failed = 0, queued = 0;
  };
  std::vector<Sink> sinks;
  uint64_t tail_clients = 0;
  std::vector<std::pair<std::string, uint64_t>> sessions_by_agent;  // live AI sessions
  uint64_t kernel_processes = 0;
  uint64_t untracked_processes = 0;
  uint64_t config_generation = 0;
  bool config_reload_failed = false;
};

// The snapshot in Prometheus's text format (version 0.0.4), label values
// escaped.
std::string PrometheusText(const MetricsSnapshot& s);

// A minimal HTTP/1.x server for GET /metrics: non-blocking, one request per
// connection, served from the daemon's loop (a slow or silent client is
// dropped, never waited for).
class MetricsServer {
 public:
  // "HOST:PORT" (an IPv4 address, or "localhost"); port 0 picks one.
  static absl::StatusOr<std::unique_ptr<MetricsServer>> Listen(absl::string_view address);
  ~MetricsServer();
  MetricsServer(const MetricsServer&) = delete;
  MetricsServer& operator=(const MetricsServer&) = delete;

  // Readable when a client connects or sends: add to the loop's epoll set.
  int epoll_fd() const { return epfd_; }
  std::string address() const { return address_; }
  // Accept, read, answer what is complete. `body` renders the metrics.
  void Service(const std::function<std::string()>& body);
  uint64_t scrapes() const { return scrapes_; }

 private:
  MetricsServer(int listen_fd, int epfd, std::string address)
      : listen_fd_(listen_fd), epfd_(epfd), address_(std::move(address)) {}
  struct Client {
    int fd;
    std::string request;
    int64_t deadline_ns;
  };
  void Answer(Client& c, const std::function<std::string()>& body);
  void Drop(size_t i);

  int listen_fd_;
  int epfd_;
  std::string address_;
  std::vector<Client> clients_;
  uint64_t scrapes_ = 0;
};

}  // namespace permsentry

#endif  // PERMSENTRY_METRICS_METRICS_H_
