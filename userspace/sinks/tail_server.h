// The live stream for `permsentry tail`: a Unix stream socket the sensor serves
// from its own event loop (non-blocking, no thread), mode 0660, owned by root
// and a configured group; every connection's peer credentials are checked
// again (root, or a member of the group). Each client sends one request line
// (its filters, and how far back to replay) and then receives the JSON lines
// that match, live. A client that falls too far behind is cut loose (told so,
// then disconnected); the sensor never waits for one.
#ifndef PERMSENTRY_SINKS_TAIL_SERVER_H_
#define PERMSENTRY_SINKS_TAIL_SERVER_H_

#include <sys/types.h>

#include <cstdint>
#include <deque>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "common/severity.h"
#include "decode/event.h"
#include "rules/glob.h"

namespace permsentry {

// What a tail filters on, for one line of the stream.
// The text it views is the caller's, for the call it is passed to.
struct TailMeta {
  bool alert = false;  // an alert (rules or sensor health), not a plain event
  Severity severity = Severity::kLow;
  Attribution::Kind attribution = Attribution::Kind::kNone;
  absl::string_view action;
  absl::string_view path;
  absl::Time time;
};

struct TailFilter {
  bool alerts_only = false;
  bool ai_only = false;
  std::optional<Severity> min_severity;  // implies alerts only
  std::vector<std::string> actions;
  std::vector<Glob> paths;
  absl::Duration since = absl::ZeroDuration();  // replay this far back
  bool Matches(const TailMeta& m) const;
  // The request line a client sends, and the server's reading of it.
  std::string ToRequest() const;
  static absl::StatusOr<TailFilter> FromRequest(absl::string_view line);
};

// Control lines the server sends, besides the stream's own lines:
//   {"permsentry_tail":{"hello":...}}         first, after a good request
//   {"permsentry_tail":{"backlog_end":true}}  the replay is over, live from here
//   {"permsentry_tail":{"error":"..."}}       refused; the server closes
//   {"permsentry_tail":{"cut_loose":...}}     fell behind; the server closes
inline constexpr char kTailControlKey[] = "permsentry_tail";

struct TailServerOptions {
  std::string socket_path = "/run/permsentry/tail.sock";
  std::string group = "permsentry";  // besides root; no such group: root only
  size_t backlog_events = 10000;     // kept for --since
  // What the backlog may hold in memory: its blocks of text (each line with
  // its path and action) and an entry per event. A storm of distinct events
  // (1.2 KiB lines) stops at about 4,600 of them, so the sensor stays within
  // 64 MiB.
  size_t backlog_bytes = 6u << 20;
  size_t client_buffer_bytes = 8u << 20;  // a client further behind is cut loose
  size_t max_clients = 64;
};

struct TailServerStats {
  size_t clients = 0;
  uint64_t accepted = 0;
  uint64_t refused = 0;  // peer credentials not allowed, bad request, too many
  uint64_t cut_loose = 0;
};

class TailServer {
 public:
  // Binds the socket (a stale one is replaced; one a live sensor serves is an
  // error). Warnings (no such group) go to `note`.
  static absl::StatusOr<std::unique_ptr<TailServer>> Listen(const TailServerOptions& o,
                                                            std::string* note);
  ~TailServer();
  TailServer(const TailServer&) = delete;
  TailServer& operator=(const TailServer&) = delete;

  // An epoll fd that becomes readable when a client connects, sends, can take
  // more output, or hangs up: the caller waits on it and then calls Service().
  int epoll_fd() const { return epfd_; }
  void Service();
  // One line of the stream (ends in '\n'). Copied: into the backlog, and to
  // every client it matches (written by Flush()).
  void Publish(absl::string_view line, const TailMeta& meta);
  // What the backlog holds: events, and bytes counted against backlog_bytes.
  size_t backlog_events() const { return backlog_.size(); }
  size_t backlog_bytes() const { return backlog_bytes_; }
  // Write what the clients can take now (never blocks).
  void Flush();
  TailServerStats Stats() const;
  const std::string& path() const { return options_.socket_path; }

 private:
  struct Client {
    int fd = -1;
    pid_t pid = 0;
    uid_t uid = 0;
    bool live = false;     // request read, streaming
    bool closing = false;  // close once `out` is written
    std::string in;        // the request, until its newline
    std::string out;       // queued output
    size_t out_off = 0;
    bool want_write = false;
    absl::Time accepted;
    absl::Time closing_since = absl::InfiniteFuture();
    TailFilter filter;
  };
  // The backlog: each event's text (line, path, action) appended to blocks of
  // 256 KiB, dropped oldest block first. No allocation per event, and none of
  // the heap a storm of kilobyte-sized lines, each freed in turn, would leave
  // fragmented: memory is whole blocks, counted exactly.
  struct Kept {
    TailMeta meta;           // its action and path views point into `block`
    absl::string_view line;  // in `block`
    uint64_t block = 0;      // sequence number of the block holding its text
  };
  struct Block {
    std::unique_ptr<char[]> data;
    size_t size = 0;
    size_t used = 0;
  };
  static constexpr size_t kBlockBytes = 256u << 10;
  // Room for `n` bytes in the newest block (a new block when it is full).
  char* BacklogRoom(size_t n);
  // The oldest event out, and its block once no event is left in it.
  void DropOldest();

  explicit TailServer(TailServerOptions o) : options_(std::move(o)) {}
  void Accept();
  void Read(Client& c);
  void Start(Client& c);  // the request is in: hello, replay, live
  void Queue(Client& c, absl::string_view data);
  void Refuse(Client& c, absl::string_view why);
  void CutLoose(Client& c);
  void Write(Client& c);
  void Close(int fd);
  bool Allowed(int fd, uid_t* uid, pid_t* pid) const;

  TailServerOptions options_;
  int listen_fd_ = -1;
  int epfd_ = -1;
  ino_t socket_ino_ = 0;  // what we bound, so we only unlink our own socket
  gid_t gid_ = 0;
  bool have_group_ = false;
  absl::flat_hash_map<int, Client> clients_;
  std::deque<Kept> backlog_;
  std::deque<Block> blocks_;  // oldest first; blocks_[i] has sequence first_block_ + i
  uint64_t first_block_ = 0;
  Block spare_;               // the last block dropped, for the next one
  size_t backlog_bytes_ = 0;  // blocks' sizes + entries
  TailServerStats stats_;
};

}  // namespace permsentry

#endif  // PERMSENTRY_SINKS_TAIL_SERVER_H_
