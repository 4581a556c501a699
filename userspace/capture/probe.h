// What this kernel lets the sensor do: which BPF program types load, which hooks
// attach, which helpers exist. Decides the capture backend, and is printed by
// `permsentry probe`. Every check really loads (and where it matters attaches) a
// minimal program, because "the type exists" and "this kernel lets us attach it
// here" differ (e.g. fentry loads nowhere on some hardened kernels).
#ifndef PERMSENTRY_CAPTURE_PROBE_H_
#define PERMSENTRY_CAPTURE_PROBE_H_

#include <string>
#include <vector>

#include "absl/status/status.h"

namespace permsentry {

struct ProbeItem {
  std::string name;
  bool ok = false;
  std::string detail;  // why not, when !ok
};

struct ProbeReport {
  std::string kernel_release;
  bool root = false;
  bool btf = false;
  std::vector<ProbeItem> program_types;
  std::vector<ProbeItem> hooks;
  std::vector<ProbeItem> helpers;
  bool rich_ok = false;        // the rich backend can run
  std::string rich_detail;     // why (not)
  std::string backend;         // what `permsentry run --backend auto` will use
  std::string backend_reason;  // and why
};

ProbeReport ProbeKernel();

// Checks that must pass before loading anything, each failing with one clear line:
// root (or CAP_BPF + CAP_PERFMON), BTF present, kernel new enough (5.17).
absl::Status CheckPrerequisites();

}  // namespace permsentry

#endif  // PERMSENTRY_CAPTURE_PROBE_H_
