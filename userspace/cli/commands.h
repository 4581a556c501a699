// Subcommands of the permsentry binary. Each returns the process exit code:
// 0 success, 1 runtime failure, 2 usage or configuration error.
#ifndef PERMSENTRY_CLI_COMMANDS_H_
#define PERMSENTRY_CLI_COMMANDS_H_

namespace permsentry {

inline constexpr int kExitOk = 0;
inline constexpr int kExitFailure = 1;
inline constexpr int kExitUsage = 2;

int RunCommand(int argc, char** argv);
int ProbeCommand(int argc, char** argv);
int ExecCommand(int argc, char** argv);
int StatusCommand(int argc, char** argv);
int CheckConfigCommand(int argc, char** argv);
int TailCommand(int argc, char** argv);

}  // namespace permsentry

#endif  // PERMSENTRY_CLI_COMMANDS_H_
