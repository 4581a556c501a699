// The agent's configuration file (YAML). Every key is optional: with no file at
// all the built-in defaults apply. Unknown keys and bad values are errors with
// file:line, so a typo never silently changes what the sensor does.
#ifndef PERMSENTRY_CONFIG_CONFIG_H_
#define PERMSENTRY_CONFIG_CONFIG_H_

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "attribute/signatures.h"
#include "common/severity.h"
#include "rules/rules.h"
#include "sinks/sink_set.h"
#include "sinks/tail_server.h"
#include "watch/watch_list.h"

namespace permsentry {

enum class OutputFormat { kJson, kText };
enum class ColorMode { kAuto, kAlways, kNever };

struct Config {
  OutputFormat format = OutputFormat::kJson;
  // Bulk ring: all events, drained on a timer. Power of two, in MiB.
  uint32_t bulk_ring_mb = 16;
  // Wakeup ring: alert candidates, read as soon as they land. Power of two, in KiB.
  uint32_t urgent_ring_kb = 1024;
  // How often the bulk ring is drained when nothing wakes the reader.
  uint32_t drain_interval_ms = 5;
  // Lossless coalescing in the kernel: identical repeats within this long of
  // the last are counted, not sent (0: off).
  uint32_t coalesce_window_ms = 1000;
  // How often the kernel counters are checked for lost events.
  uint32_t stats_interval_ms = 1000;
  // Credential files: the built-in list (unless watch.defaults is false) plus
  // watch.paths.
  std::vector<WatchEntry> watch = DefaultWatchList();
  // How often the watch list is looked up again even when no event asked for it
  // (new home directories, a .ssh directory created since).
  uint32_t watch_refresh_s = 30;
  // Processes the kernel's process table holds at most (live ones).
  uint32_t process_table_entries = 65536;
  // AI agents: the built-in signatures (unless ai.defaults is false) plus
  // ai.agents, ai.launchers and ai.ide_env.
  SignatureSet signatures = DefaultSignatures();
  // Where the running sensor publishes its state for `permsentry status`.
  std::string status_file = "/run/permsentry/status.json";

  // stdout: colour for the text format (auto: when stdout is a terminal), and
  // whether plain events are printed or only alerts (of at least a severity).
  ColorMode color = ColorMode::kAuto;
  bool stdout_alerts_only = false;
  // How far a slow reader of stdout (a pipe, a socket) may fall behind before
  // plain events are dropped for it (counted, alerted; alerts are kept).
  uint32_t stdout_buffer_mb = 64;
  Severity stdout_min_severity = Severity::kLow;
  // Rules: the built-in pack (unless rules.defaults is false) plus rule files
  // and rules.custom.
  RuleSet rules = DefaultRuleSet();
  std::vector<SinkConfig> sinks;
  // The live stream for `permsentry tail`.
  bool tail_enabled = true;
  TailServerOptions tail;
  // Prometheus metrics over HTTP (GET /metrics): off unless asked for.
  bool metrics_enabled = false;
  std::string metrics_address = "127.0.0.1:9464";
};

// Validate a config file, or a rule file (a file holding only `rules:` with a
// list), without running anything: one line saying what it holds.
absl::StatusOr<std::string> CheckConfigFile(const std::string& path);

// Agent signature packs (ai.files, e.g. /etc/permsentry/agents.d/*.yaml): a
// file holding only `agents:`, a list of {name, executables, scripts, env}.
bool IsAgentPack(const YAML::Node& root);
absl::StatusOr<std::vector<AgentSignature>> LoadAgentPack(const std::string& path);
// The table the sensor runs with: the built-in one (if `defaults`), `added`
// (a name that is built in replaces that signature; two added with one name
// are an error), and `extra`'s launchers, IDE markers and generic markers.
// Fails as the kernel's maps would refuse it.
absl::StatusOr<SignatureSet> MergeSignatures(bool defaults, std::vector<AgentSignature> added,
                                             SignatureSet extra);

// Parse YAML text; `origin` names the source in error messages.
absl::StatusOr<Config> ParseConfig(absl::string_view yaml, absl::string_view origin);

// Read and parse a config file.
absl::StatusOr<Config> LoadConfigFile(const std::string& path);
// The same for a command's --config: an error is said on stderr, in one line.
std::optional<Config> LoadConfigOrSay(const std::string& path);

// The settings a reload cannot apply in place, by their keys
// ("capture.bulk_ring_mb", "tail.socket"), that differ between the running
// config and the next: they size the kernel's rings and tables or the
// outputs opened at start. A reload applies everything else; these wait for
// a restart.
std::vector<std::string> RestartOnlyChanges(const Config& running, const Config& next);

// The built-in default, as YAML (printed by `permsentry run --print-default-config`).
std::string DefaultConfigYaml();

}  // namespace permsentry

#endif  // PERMSENTRY_CONFIG_CONFIG_H_
