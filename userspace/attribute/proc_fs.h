// A running process as /proc shows it: what the startup seed needs to check a
// process that was already running against the agent signatures.
#ifndef PERMSENTRY_ATTRIBUTE_PROC_FS_H_
#define PERMSENTRY_ATTRIBUTE_PROC_FS_H_

#include <cstdint>
#include <optional>
#include <string>

#include "attribute/signatures.h"

namespace permsentry {

struct ProcFsInfo {
  ProcessImage image;  // exe (readlink /proc/PID/exe), argv, env (bounded)
  std::string comm;
  uint32_t uid = 0, euid = 0;
  uint32_t loginuid = 4294967295u, sessionid = 4294967295u;
  uint32_t tty = 0;  // kernel dev_t (major << 20 | minor)
};

// nullopt when the process is gone. `root` is normally "/proc".
std::optional<ProcFsInfo> ReadProcFs(uint32_t pid, const std::string& root = "/proc");

}  // namespace permsentry

#endif  // PERMSENTRY_ATTRIBUTE_PROC_FS_H_
