#include "cli/status.h"

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
#include "cli/commands.h"
#include "cli/config.h"
#include "common/names.h"
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

constexpr char kUsage[] =
    "usage: permsentry status [--json] [--all] [--file PATH] [--config FILE]\n"
    "\n"
    "Show what the running sensor knows: its live AI agent sessions (agent, root\n"
    "process, user, terminal, when and how each was recognised, and how many\n"
    "changes were attributed to it or made beside it), and the process table.\n"
    "\n"
    "  --json         print the sensor's status document as is\n"
    "  --all          also list sessions that have ended\n"
    "  --file PATH    the status file (default: ai.status_file of --config, or\n"
    "                 /run/permsentry/status.json)\n"
    "  --config FILE  the sensor's configuration file\n"
    "  -h, --help     this help\n"
    "\n"
    "Exit status: 0 with the sensor running, 1 when it is not (or the file cannot\n"
    "be read), 2 for bad usage.\n";

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

int StatusCommand(int argc, char** argv) {
  static const option kLong[] = {
      {"json", no_argument, nullptr, 'j'},       {"all", no_argument, nullptr, 'a'},
      {"file", required_argument, nullptr, 'f'}, {"config", required_argument, nullptr, 'c'},
      {"help", no_argument, nullptr, 'h'},       {nullptr, 0, nullptr, 0},
  };
  bool json = false, all = false;
  std::string file;
  optind = 1;
  for (int c; (c = getopt_long(argc, argv, "jaf:c:h", kLong, nullptr)) != -1;) {
    switch (c) {
      case 'j':
        json = true;
        break;
      case 'a':
        all = true;
        break;
      case 'f':
        file = optarg;
        break;
      case 'c': {
        std::optional<Config> cfg = LoadConfigOrSay(optarg);
        if (!cfg) return kExitUsage;
        if (file.empty()) file = cfg->status_file;
        break;
      }
      case 'h':
        std::fputs(kUsage, stdout);
        return kExitOk;
      default:
        std::fputs(kUsage, stderr);
        return kExitUsage;
    }
  }
  if (optind < argc) {
    std::fprintf(stderr, "permsentry status: unexpected argument \"%s\"\n%s", argv[optind], kUsage);
    return kExitUsage;
  }
  if (file.empty()) file = Config{}.status_file;
  std::ifstream in(file);
  if (!in) {
    std::fprintf(stderr, "permsentry status: the sensor is not running (no %s: %s)\n", file.c_str(),
                 strerror(errno));
    return kExitFailure;
  }
  std::stringstream ss;
  ss << in.rdbuf();
  const std::string text = ss.str();
  rapidjson::Document d;
  d.Parse(text.c_str());
  if (d.HasParseError() || !d.IsObject() || !d.HasMember("pid") || !d["pid"].IsUint() ||
      !d.HasMember("sessions") || !d["sessions"].IsArray()) {
    std::fprintf(stderr, "permsentry status: %s is not a status file\n", file.c_str());
    return kExitFailure;
  }
  const pid_t pid = static_cast<pid_t>(d["pid"].GetUint());
  if (kill(pid, 0) != 0 && errno == ESRCH) {
    std::fprintf(stderr, "permsentry status: the sensor (pid %d) is not running; %s is stale\n",
                 pid, file.c_str());
    return kExitFailure;
  }
  if (json) {
    std::fputs(text.c_str(), stdout);
    return kExitOk;
  }
  // Values can hold what a process chose (a declared session id, an
  // environment variable): escaped, so each stays on its line.
  const auto str = [](const rapidjson::Value& v, const char* k) -> std::string {
    return v.HasMember(k) && v[k].IsString()
               ? EscapeForText(absl::string_view(v[k].GetString(), v[k].GetStringLength()))
               : "";
  };
  const auto num = [](const rapidjson::Value& v, const char* k) -> uint64_t {
    return v.HasMember(k) && v[k].IsUint64() ? v[k].GetUint64() : 0;
  };
  const rapidjson::Value& procs = d["processes"];
  std::printf("permsentry running (pid %d, %s backend, %s) since %s; %llu events, %llu lost\n", pid,
              str(d, "backend").c_str(), str(d, "backend_flavour").c_str(),
              str(d, "started").c_str(), static_cast<unsigned long long>(num(d, "events")),
              static_cast<unsigned long long>(num(d, "lost")));
  std::printf("backend: %s\n", str(d, "backend_reason").c_str());
  if (d.HasMember("backend_limits") && d["backend_limits"].IsArray()) {
    for (const rapidjson::Value& l : d["backend_limits"].GetArray())
      if (l.IsString())
        std::printf("  cannot see: %s\n",
                    EscapeForText(absl::string_view(l.GetString(), l.GetStringLength())).c_str());
  }
  std::printf(
      "process table: %llu in the kernel, %llu live and %llu exited kept here, %llu "
      "untracked (table full)\n",
      static_cast<unsigned long long>(num(procs, "kernel")),
      static_cast<unsigned long long>(num(procs, "live")),
      static_cast<unsigned long long>(num(procs, "exited_kept")),
      static_cast<unsigned long long>(num(procs, "untracked")));
  std::printf("alerts: %llu; stdout: %llu events not written (its reader fell behind)\n",
              static_cast<unsigned long long>(num(d, "alerts")),
              static_cast<unsigned long long>(num(d, "stdout_dropped")));
  if (d.HasMember("sinks") && d["sinks"].IsArray()) {
    for (const rapidjson::Value& k : d["sinks"].GetArray()) {
      std::printf(
          "  sink %s: %llu delivered, %llu dropped (queue full), %llu failed, %llu "
          "queued%s\n",
          str(k, "name").c_str(), static_cast<unsigned long long>(num(k, "delivered")),
          static_cast<unsigned long long>(num(k, "dropped")),
          static_cast<unsigned long long>(num(k, "failed")),
          static_cast<unsigned long long>(num(k, "queued")),
          k.HasMember("last_error") ? absl::StrCat("; last error: ", str(k, "last_error")).c_str()
                                    : "");
    }
  }
  if (d.HasMember("tail") && d["tail"].IsObject()) {
    const rapidjson::Value& t = d["tail"];
    std::printf("  tail %s: %llu clients, %llu refused, %llu cut loose\n", str(t, "socket").c_str(),
                static_cast<unsigned long long>(num(t, "clients")),
                static_cast<unsigned long long>(num(t, "refused")),
                static_cast<unsigned long long>(num(t, "cut_loose")));
  }
  size_t shown = 0;
  for (const rapidjson::Value& s : d["sessions"].GetArray()) {
    const bool live = s.HasMember("live") && s["live"].IsBool() && s["live"].GetBool();
    if (!live && !all) continue;
    if (shown++ == 0) std::printf("\nAI sessions%s:\n", all ? "" : " (live)");
    std::printf("  %s  agent %s  root pid %llu (%s)  uid %llu%s%s\n", str(s, "session_id").c_str(),
                str(s, "agent").c_str(), static_cast<unsigned long long>(num(s, "root_pid")),
                str(s, "root_name").c_str(), static_cast<unsigned long long>(num(s, "uid")),
                s.HasMember("tty") ? absl::StrCat("  tty ", str(s, "tty")).c_str() : "",
                live ? "" : absl::StrCat("  ended ", str(s, "ended")).c_str());
    std::printf("      since %s, %s; %llu processes; changes: %llu by the agent, %llu beside it\n",
                str(s, "started").c_str(), str(s, "signal").c_str(),
                static_cast<unsigned long long>(num(s, "processes")),
                static_cast<unsigned long long>(num(s, "agent_changes")),
                static_cast<unsigned long long>(num(s, "assisted_changes")));
    if (s.HasMember("cwd")) std::printf("      cwd %s\n", str(s, "cwd").c_str());
  }
  if (shown == 0) std::printf("\nno %sAI sessions\n", all ? "" : "live ");
  return kExitOk;
}

}  // namespace permsentry
