#include "daemon/status_file.h"

#include <fcntl.h>
#include <getopt.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <sstream>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "common/names.h"
#include "config/config.h"
#include "rapidjson/document.h"
#include "rapidjson/stringbuffer.h"
#include "rapidjson/writer.h"

namespace permsentry {
namespace {

using Writer = rapidjson::Writer<rapidjson::StringBuffer>;

void KStr(Writer& w, const char* k, absl::string_view v) {
  w.Key(k);
  const std::string e = EscapeBytes(v).text;
  w.String(e.data(), static_cast<rapidjson::SizeType>(e.size()));
}
void KU64(Writer& w, const char* k, uint64_t v) {
  w.Key(k);
  w.Uint64(v);
}
std::string Iso(absl::Time t) {
  return absl::FormatTime("%Y-%m-%dT%H:%M:%SZ", t, absl::UTCTimeZone());
}
void KId(Writer& w, const char* k, uint32_t v) {
  w.Key(k);
  if (v == 4294967295u) {
    w.Int(-1);
  } else {
    w.Uint(v);
  }
}

}  // namespace

std::string StatusJson(const StatusSnapshot& s) {
  rapidjson::StringBuffer buf;
  Writer w(buf);
  w.StartObject();
  KU64(w, "pid", s.pid);
  KStr(w, "started", Iso(s.started));
  KStr(w, "updated", Iso(s.now));
  KStr(w, "backend", s.backend);
  KStr(w, "backend_flavour", s.backend_flavour);
  KStr(w, "backend_reason", s.backend_reason);
  w.Key("backend_limits");
  w.StartArray();
  for (const std::string& l : s.backend_limits) w.String(l.data(), l.size());
  w.EndArray();
  w.Key("config");
  w.StartObject();
  KStr(w, "path", s.config_path);
  KU64(w, "generation", s.config_generation);
  KStr(w, "loaded", Iso(s.config_loaded));
  if (!s.config_error.empty()) KStr(w, "last_reload_error", s.config_error);
  w.EndObject();
  KU64(w, "events", s.events);
  KU64(w, "lost", s.lost);
  w.Key("processes");
  w.StartObject();
  KU64(w, "kernel", s.kernel_processes);
  KU64(w, "live", s.live_processes);
  KU64(w, "exited_kept", s.exited_processes);
  KU64(w, "untracked", s.untracked_processes);
  w.EndObject();
  KU64(w, "alerts", s.alerts);
  KU64(w, "stdout_dropped", s.stdout_dropped);
  w.Key("sinks");
  w.StartArray();
  for (const SinkSet::Report& r : s.sinks) {
    w.StartObject();
    KStr(w, "name", r.name);
    KU64(w, "delivered", r.stats.delivered);
    KU64(w, "dropped", r.stats.dropped);
    KU64(w, "failed", r.stats.failed);
    KU64(w, "retries", r.stats.retries);
    KU64(w, "queued", r.stats.queued);
    if (!r.stats.last_error.empty()) KStr(w, "last_error", r.stats.last_error);
    w.EndObject();
  }
  w.EndArray();
  if (!s.tail_socket.empty()) {
    w.Key("tail");
    w.StartObject();
    KStr(w, "socket", s.tail_socket);
    KU64(w, "clients", s.tail.clients);
    KU64(w, "refused", s.tail.refused);
    KU64(w, "cut_loose", s.tail.cut_loose);
    w.EndObject();
  }
  w.Key("sessions");
  w.StartArray();
  for (const AiSession& a : s.sessions) {
    w.StartObject();
    KStr(w, "session_id", a.id);
    KStr(w, "agent", a.agent);
    KU64(w, "root_pid", a.root.pid);
    KStr(w, "root_name", a.root_comm);
    KStr(w, "root_executable", a.root_exe);
    KStr(w, "signal", a.matched);
    w.Key("seeded");
    w.Bool(a.seeded);
    KStr(w, "started", Iso(a.start));
    KU64(w, "uid", a.uid);
    KId(w, "login_uid", a.loginuid);
    KId(w, "audit_session_id", a.sessionid);
    if (a.tty != 0) KStr(w, "tty", TtyName(a.tty));
    if (!a.cwd.empty()) KStr(w, "cwd", a.cwd);
    w.Key("live");
    w.Bool(a.live());
    KU64(w, "processes", static_cast<uint64_t>(a.live_members));
    if (!a.live()) KStr(w, "ended", Iso(a.ended));
    KU64(w, "agent_changes", a.agent_changes);
    KU64(w, "assisted_changes", a.assisted_changes);
    w.EndObject();
  }
  w.EndArray();
  w.EndObject();
  return JsonOut(absl::string_view(buf.GetString(), buf.GetSize())) + "\n";
}

absl::Status StatusWriter::Write(const StatusSnapshot& s) {
  const std::string dir = path_.substr(0, path_.rfind('/'));
  if (!dir.empty()) mkdir(dir.c_str(), 0755);  // /run/permsentry; fine if it exists
  const std::string tmp = absl::StrCat(path_, ".tmp");
  const int fd = open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0640);
  absl::Status err;
  if (fd < 0) {
    err = absl::UnavailableError(
        absl::StrFormat("cannot write the status file %s: %s", tmp, strerror(errno)));
  } else {
    const std::string text = StatusJson(s);
    const bool ok = write(fd, text.data(), text.size()) == static_cast<ssize_t>(text.size());
    close(fd);
    if (!ok || rename(tmp.c_str(), path_.c_str()) != 0) {
      err = absl::UnavailableError(
          absl::StrFormat("cannot write the status file %s: %s", path_, strerror(errno)));
    }
  }
  // Said once: the status file is a convenience, never a reason to stop.
  if (!err.ok() && !warned_) {
    warned_ = true;
    return err;
  }
  return absl::OkStatus();
}

void StatusWriter::Remove() { unlink(path_.c_str()); }

}  // namespace permsentry
