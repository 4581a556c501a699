#include "sinks/tail_server.h"

#include <fcntl.h>
#include <grp.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/time/clock.h"
#include "common/names.h"
#include "rapidjson/document.h"
#include "rapidjson/stringbuffer.h"
#include "rapidjson/writer.h"

namespace permsentry {
namespace {

constexpr size_t kMaxRequest = 64 << 10;
constexpr absl::Duration kHandshakeTimeout = absl::Seconds(5);

using Writer = rapidjson::Writer<rapidjson::StringBuffer>;

std::string Control(const std::function<void(Writer&)>& body) {
  rapidjson::StringBuffer buf;
  Writer w(buf);
  w.StartObject();
  w.Key(kTailControlKey);
  w.StartObject();
  body(w);
  w.EndObject();
  w.EndObject();
  return absl::StrCat(JsonOut(absl::string_view(buf.GetString(), buf.GetSize())), "\n");
}

void KStr(Writer& w, const char* k, absl::string_view v) {
  w.Key(k);
  w.String(v.data(), static_cast<rapidjson::SizeType>(v.size()));
}

}  // namespace

// ------------------------------------------------------------------ filter

bool TailFilter::Matches(const TailMeta& m) const {
  if ((alerts_only || min_severity) && !m.alert) return false;
  if (min_severity && m.severity < *min_severity) return false;
  if (ai_only && m.attribution == Attribution::Kind::kNone) return false;
  if (!actions.empty()) {
    bool hit = false;
    for (const std::string& a : actions) hit = hit || a == m.action;
    if (!hit) return false;
  }
  if (!paths.empty()) {
    bool hit = false;
    for (const Glob& g : paths) hit = hit || (!m.path.empty() && g.Matches(m.path));
    if (!hit) return false;
  }
  return true;
}

std::string TailFilter::ToRequest() const {
  rapidjson::StringBuffer buf;
  Writer w(buf);
  w.StartObject();
  w.Key("version");
  w.Int(1);
  w.Key("alerts_only");
  w.Bool(alerts_only);
  w.Key("ai_only");
  w.Bool(ai_only);
  if (min_severity) KStr(w, "min_severity", SeverityName(*min_severity));
  w.Key("actions");
  w.StartArray();
  for (const std::string& a : actions)
    w.String(a.data(), static_cast<rapidjson::SizeType>(a.size()));
  w.EndArray();
  w.Key("paths");
  w.StartArray();
  for (const Glob& g : paths) {
    const std::string& p = g.pattern();
    w.String(p.data(), static_cast<rapidjson::SizeType>(p.size()));
  }
  w.EndArray();
  w.Key("since_ms");
  w.Int64(absl::ToInt64Milliseconds(since));
  w.EndObject();
  return absl::StrCat(JsonOut(absl::string_view(buf.GetString(), buf.GetSize())), "\n");
}

absl::StatusOr<TailFilter> TailFilter::FromRequest(absl::string_view line) {
  rapidjson::Document d;
  d.Parse(line.data(), line.size());
  if (d.HasParseError() || !d.IsObject()) return absl::InvalidArgumentError("request is not JSON");
  TailFilter f;
  const auto flag = [&](const char* k) {
    return d.HasMember(k) && d[k].IsBool() && d[k].GetBool();
  };
  f.alerts_only = flag("alerts_only");
  f.ai_only = flag("ai_only");
  if (d.HasMember("min_severity")) {
    if (!d["min_severity"].IsString())
      return absl::InvalidArgumentError("min_severity: expected text");
    f.min_severity = ParseSeverity(d["min_severity"].GetString());
    if (!f.min_severity)
      return absl::InvalidArgumentError("min_severity: expected low, medium, high or critical");
  }
  for (const char* k : {"actions", "paths"}) {
    if (!d.HasMember(k)) continue;
    if (!d[k].IsArray()) return absl::InvalidArgumentError(absl::StrCat(k, ": expected a list"));
    for (const auto& v : d[k].GetArray()) {
      if (!v.IsString()) return absl::InvalidArgumentError(absl::StrCat(k, ": expected text"));
      const absl::string_view s(v.GetString(), v.GetStringLength());
      if (k[0] == 'a') {
        f.actions.emplace_back(s);
      } else {
        absl::StatusOr<Glob> g = Glob::Compile(s, Glob::Kind::kPath);
        if (!g.ok()) return g.status();
        f.paths.push_back(*std::move(g));
      }
    }
  }
  if (d.HasMember("since_ms")) {
    if (!d["since_ms"].IsInt64() || d["since_ms"].GetInt64() < 0)
      return absl::InvalidArgumentError("since_ms: expected a number of milliseconds");
    f.since = absl::Milliseconds(d["since_ms"].GetInt64());
  }
  return f;
}

// ------------------------------------------------------------------ server

absl::StatusOr<std::unique_ptr<TailServer>> TailServer::Listen(const TailServerOptions& o,
                                                               std::string* note) {
  std::unique_ptr<TailServer> s(new TailServer(o));
  const std::string& path = o.socket_path;
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  if (path.empty() || path[0] != '/' || path.size() >= sizeof(addr.sun_path))
    return absl::InvalidArgumentError(absl::StrFormat(
        "tail socket %s: an absolute path of at most %d bytes", path, sizeof(addr.sun_path) - 1));
  std::memcpy(addr.sun_path, path.data(), path.size());

  // The directory: created root-only-writable if missing (/run/permsentry).
  const std::string dir = path.substr(0, path.rfind('/'));
  if (!dir.empty() && mkdir(dir.c_str(), 0755) != 0 && errno != EEXIST)
    return absl::InternalError(
        absl::StrFormat("tail socket directory %s: %s", dir, strerror(errno)));

  struct stat st;
  if (lstat(path.c_str(), &st) == 0) {
    if (!S_ISSOCK(st.st_mode))
      return absl::AlreadyExistsError(
          absl::StrFormat("tail socket %s: exists and is not a socket", path));
    const int probe = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    const bool live =
        probe >= 0 && connect(probe, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0;
    if (probe >= 0) close(probe);
    if (live)
      return absl::AlreadyExistsError(absl::StrFormat(
          "tail socket %s: another permsentry is serving it (tail.socket sets another path)",
          path));
    unlink(path.c_str());  // stale: a sensor that did not exit cleanly
  }

  s->listen_fd_ = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (s->listen_fd_ < 0) return absl::InternalError(absl::StrCat("socket: ", strerror(errno)));
  // Created 0660 from the start: no window in which anyone may connect.
  const mode_t old = umask(0117);
  const int rc = bind(s->listen_fd_, reinterpret_cast<sockaddr*>(&addr), sizeof(addr));
  const int bind_errno = errno;
  umask(old);
  if (rc != 0)
    return absl::InternalError(
        absl::StrFormat("tail socket %s: bind: %s", path, strerror(bind_errno)));
  if (stat(path.c_str(), &st) == 0) s->socket_ino_ = st.st_ino;
  if (group* g = getgrnam(o.group.c_str()); g != nullptr) {
    s->gid_ = g->gr_gid;
    s->have_group_ = true;
    if (chown(path.c_str(), 0, g->gr_gid) != 0 && note != nullptr)
      *note =
          absl::StrFormat("tail socket %s: chown to group %s: %s", path, o.group, strerror(errno));
  } else if (note != nullptr) {
    *note = absl::StrFormat(
        "tail socket %s: no group \"%s\" on this host, only root can tail (groupadd --system %s, "
        "then restart)",
        path, o.group, o.group);
  }
  if (listen(s->listen_fd_, 64) != 0)
    return absl::InternalError(absl::StrCat("listen: ", strerror(errno)));
  s->epfd_ = epoll_create1(EPOLL_CLOEXEC);
  if (s->epfd_ < 0) return absl::InternalError(absl::StrCat("epoll: ", strerror(errno)));
  epoll_event ev{.events = EPOLLIN, .data = {.fd = s->listen_fd_}};
  epoll_ctl(s->epfd_, EPOLL_CTL_ADD, s->listen_fd_, &ev);
  return s;
}

TailServer::~TailServer() {
  for (auto& [fd, c] : clients_) close(fd);
  if (listen_fd_ >= 0) close(listen_fd_);
  if (epfd_ >= 0) close(epfd_);
  // Ours only: a sensor started since may have bound the path again.
  struct stat st;
  if (socket_ino_ != 0 && stat(options_.socket_path.c_str(), &st) == 0 && st.st_ino == socket_ino_)
    unlink(options_.socket_path.c_str());
}

bool TailServer::Allowed(int fd, uid_t* uid, pid_t* pid) const {
  ucred cred{};
  socklen_t len = sizeof(cred);
  if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) != 0) return false;
  *uid = cred.uid;
  *pid = cred.pid;
  if (cred.uid == 0) return true;
  if (!have_group_) return false;
  if (cred.gid == gid_) return true;
  // The peer's supplementary groups as the kernel holds them for its process
  // (not the group database, which may have changed since it logged in).
  gid_t groups[1024];
  len = sizeof(groups);
  if (getsockopt(fd, SOL_SOCKET, SO_PEERGROUPS, groups, &len) != 0) return false;
  for (size_t i = 0; i < len / sizeof(gid_t); ++i)
    if (groups[i] == gid_) return true;
  return false;
}

void TailServer::Accept() {
  for (;;) {
    const int fd = accept4(listen_fd_, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd < 0) return;  // EAGAIN: all taken
    Client c;
    c.fd = fd;
    c.accepted = absl::Now();
    auto [it, fresh] = clients_.emplace(fd, std::move(c));
    Client& cl = it->second;
    epoll_event ev{.events = EPOLLIN | EPOLLRDHUP, .data = {.fd = fd}};
    epoll_ctl(epfd_, EPOLL_CTL_ADD, fd, &ev);
    if (!Allowed(fd, &cl.uid, &cl.pid)) {
      Refuse(cl, absl::StrFormat("uid %d may not tail this sensor: only root and members of "
                                 "group %s",
                                 cl.uid, options_.group));
    } else if (clients_.size() > options_.max_clients) {
      Refuse(cl, absl::StrFormat("too many tail clients (%d)", options_.max_clients));
    } else {
      ++stats_.accepted;
    }
  }
}

void TailServer::Refuse(Client& c, absl::string_view why) {
  ++stats_.refused;
  c.out = Control([&](Writer& w) { KStr(w, "error", why); });
  c.out_off = 0;
  c.closing = true;
  Write(c);
}

void TailServer::CutLoose(Client& c) {
  ++stats_.cut_loose;
  const size_t behind = c.out.size() - c.out_off;
  c.out = Control([&](Writer& w) {
    w.Key("cut_loose");
    w.StartObject();
    KStr(w, "reason", "this client fell too far behind the stream");
    w.Key("pending_bytes");
    w.Uint64(behind);
    w.EndObject();
  });
  c.out_off = 0;
  c.closing = true;
}

void TailServer::Read(Client& c) {
  char buf[4096];
  for (;;) {
    const ssize_t n = recv(c.fd, buf, sizeof(buf), MSG_DONTWAIT);
    if (n == 0) {
      c.closing = true;  // the client went away
      c.out.clear();
      c.out_off = 0;
      return;
    }
    if (n < 0) return;                  // EAGAIN
    if (c.live || c.closing) continue;  // nothing more is expected: drained
    c.in.append(buf, static_cast<size_t>(n));
    const size_t nl = c.in.find('\n');
    if (nl != std::string::npos) {
      absl::StatusOr<TailFilter> f = TailFilter::FromRequest(absl::string_view(c.in).substr(0, nl));
      if (!f.ok()) {
        Refuse(c, absl::StrCat("bad request: ", f.status().message()));
        return;
      }
      c.filter = *std::move(f);
      Start(c);
    } else if (c.in.size() > kMaxRequest) {
      Refuse(c, "request too long");
      return;
    }
  }
}

void TailServer::Start(Client& c) {
  c.live = true;
  // The replay: what matches within `since`, newest kept if it is too much.
  std::vector<const Kept*> replay;
  size_t bytes = 0;
  if (c.filter.since > absl::ZeroDuration()) {
    const absl::Time from = absl::Now() - c.filter.since;
    for (auto it = backlog_.rbegin(); it != backlog_.rend(); ++it) {
      if (it->meta.time < from) break;
      if (!c.filter.Matches(it->meta)) continue;
      if (bytes + it->line.size() > options_.client_buffer_bytes / 2) break;
      bytes += it->line.size();
      replay.push_back(&*it);
    }
  }
  c.out += Control([&](Writer& w) {
    w.Key("hello");
    w.StartObject();
    w.Key("version");
    w.Int(1);
    KStr(w, "host", Hostname());
    w.Key("replay");
    w.Uint64(replay.size());
    w.EndObject();
  });
  for (auto it = replay.rbegin(); it != replay.rend(); ++it)
    c.out.append((*it)->line.data(), (*it)->line.size());
  c.out += Control([&](Writer& w) {
    w.Key("backlog_end");
    w.Bool(true);
  });
  Write(c);
}

void TailServer::Queue(Client& c, absl::string_view data) {
  if (c.out.size() - c.out_off + data.size() > options_.client_buffer_bytes) {
    CutLoose(c);
    return;
  }
  c.out.append(data.data(), data.size());
}

void TailServer::Write(Client& c) {
  while (c.out_off < c.out.size()) {
    const ssize_t n =
        send(c.fd, c.out.data() + c.out_off, c.out.size() - c.out_off, MSG_DONTWAIT | MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
      if (!c.want_write) {
        epoll_event ev{.events = EPOLLIN | EPOLLRDHUP | EPOLLOUT, .data = {.fd = c.fd}};
        epoll_ctl(epfd_, EPOLL_CTL_MOD, c.fd, &ev);
        c.want_write = true;
      }
      // Compact now and then, not on every partial write.
      if (c.out_off > (1u << 20)) {
        c.out.erase(0, c.out_off);
        c.out_off = 0;
      }
      return;
    }
    if (n <= 0) {  // EPIPE, ECONNRESET: gone
      c.closing = true;
      c.out.clear();
      c.out_off = 0;
      return;
    }
    c.out_off += static_cast<size_t>(n);
  }
  c.out.clear();
  c.out_off = 0;
  if (c.want_write) {
    epoll_event ev{.events = EPOLLIN | EPOLLRDHUP, .data = {.fd = c.fd}};
    epoll_ctl(epfd_, EPOLL_CTL_MOD, c.fd, &ev);
    c.want_write = false;
  }
}

void TailServer::Close(int fd) {
  epoll_ctl(epfd_, EPOLL_CTL_DEL, fd, nullptr);
  close(fd);
  clients_.erase(fd);
}

void TailServer::Service() {
  epoll_event evs[64];
  const int n = epoll_wait(epfd_, evs, 64, 0);
  for (int i = 0; i < n; ++i) {
    const int fd = evs[i].data.fd;
    if (fd == listen_fd_) {
      Accept();
      continue;
    }
    auto it = clients_.find(fd);
    if (it == clients_.end()) continue;
    Client& c = it->second;
    if (evs[i].events & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR)) Read(c);
    if (evs[i].events & EPOLLOUT) Write(c);
  }
  Flush();
}

char* TailServer::BacklogRoom(size_t n) {
  if (blocks_.empty() || blocks_.back().size - blocks_.back().used < n) {
    Block b;
    if (spare_.data != nullptr && spare_.size >= n) {
      b = std::move(spare_);
      spare_ = Block{};
    } else {
      // Not initialised: pages are touched (and resident) only as text goes in.
      b.size = std::max(kBlockBytes, n);
      b.data.reset(new char[b.size]);
    }
    b.used = 0;
    backlog_bytes_ += b.size;
    blocks_.push_back(std::move(b));
  }
  Block& b = blocks_.back();
  char* at = b.data.get() + b.used;
  b.used += n;
  return at;
}

void TailServer::DropOldest() {
  backlog_.pop_front();
  backlog_bytes_ -= sizeof(Kept);
  // Blocks before the oldest event's hold nothing any more.
  const uint64_t keep_from =
      backlog_.empty() ? first_block_ + blocks_.size() - 1 : backlog_.front().block;
  while (first_block_ < keep_from && !blocks_.empty()) {
    backlog_bytes_ -= blocks_.front().size;
    spare_ = std::move(blocks_.front());
    blocks_.pop_front();
    ++first_block_;
  }
}

void TailServer::Publish(absl::string_view line, const TailMeta& meta) {
  if (options_.backlog_events > 0 && options_.backlog_bytes > 0) {
    const size_t n = line.size() + meta.path.size() + meta.action.size();
    char* at = BacklogRoom(n);
    Kept k{.meta = meta, .block = first_block_ + blocks_.size() - 1};
    // Each piece copied in after the one before (an empty one may have no
    // data pointer at all: nothing is copied).
    const auto copy_in = [&at](absl::string_view piece) {
      if (!piece.empty()) std::memcpy(at, piece.data(), piece.size());
      const absl::string_view kept(at, piece.size());
      at += piece.size();
      return kept;
    };
    k.line = copy_in(line);
    k.meta.path = copy_in(meta.path);
    k.meta.action = copy_in(meta.action);
    backlog_.push_back(k);
    backlog_bytes_ += sizeof(Kept);
    for (size_t events = backlog_.size(); events > 1 && (events > options_.backlog_events ||
                                                         backlog_bytes_ > options_.backlog_bytes);
         --events)
      DropOldest();
  }
  for (auto& [fd, c] : clients_) {
    if (c.live && !c.closing && c.filter.Matches(meta)) Queue(c, line);
  }
}

void TailServer::Flush() {
  std::vector<int> done;
  const absl::Time now = absl::Now();
  for (auto& [fd, c] : clients_) {
    if (c.out_off < c.out.size()) Write(c);
    if (!c.live && !c.closing && now - c.accepted > kHandshakeTimeout) {
      Refuse(c, "no request within 5 s");
    }
    if (c.closing && c.closing_since == absl::InfiniteFuture()) c.closing_since = now;
    // Closed once its last words are out, or after ten seconds of not taking
    // them (a slow client still reads why it was cut loose).
    if (c.closing && (c.out_off >= c.out.size() || now - c.closing_since > absl::Seconds(10)))
      done.push_back(fd);
  }
  for (int fd : done) Close(fd);
}

TailServerStats TailServer::Stats() const {
  TailServerStats s = stats_;
  s.clients = clients_.size();
  return s;
}

}  // namespace permsentry
