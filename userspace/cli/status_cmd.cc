// `permsentry status`: what the running sensor published in its status file.
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
#include "cli/commands.h"
#include "common/names.h"
#include "config/config.h"
#include "rapidjson/document.h"
#include "rapidjson/stringbuffer.h"
#include "rapidjson/writer.h"

namespace permsentry {
namespace {

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
  if (d.HasMember("config") && d["config"].IsObject()) {
    const rapidjson::Value& c = d["config"];
    const std::string path = str(c, "path");
    std::printf("config: %s, generation %llu, loaded %s\n",
                path.empty() ? "built-in" : path.c_str(),
                static_cast<unsigned long long>(num(c, "generation")), str(c, "loaded").c_str());
    if (c.HasMember("last_reload_error"))
      std::printf("  last reload refused, the config above kept: %s\n",
                  str(c, "last_reload_error").c_str());
  }
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
