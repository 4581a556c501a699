// Writes the seed corpus: one valid record per watched syscall shape.
#include <cstdio>
#include <fstream>
#include <string>

#include "../unit/record_builder.h"

using permsentry::testing::RecordBuilder;

static void Write(const std::string& dir, const std::string& name, std::vector<uint8_t> rec) {
  std::ofstream(dir + "/" + name, std::ios::binary)
      .write(reinterpret_cast<const char*>(rec.data()), static_cast<std::streamsize>(rec.size()));
}

int main(int argc, char** argv) {
  if (argc != 2) return 2;
  const std::string d = argv[1];
  Write(d, "chmod", RecordBuilder(90).Arg(1, 04755).Path("/tmp/x").Build());
  Write(d, "fchmodat2",
        RecordBuilder(452).Arg(0, -100).Arg(2, 0644).Arg(3, 0x100).Path("r").Build());
  Write(d, "fchown", RecordBuilder(93).Arg(0, 3).Arg(1, 0).Arg(2, -1).Build());
  Write(d, "chown16_ia32", RecordBuilder(182, true).Arg(1, 0xffff).Path("/a\n\xff").Build());
  auto creds = RecordBuilder(117).Arg(0, -1).Arg(1, 0).Arg(2, -1);
  creds.Flags(PS_OF_CREDS);
  Write(d, "setresuid", creds.Build());
  Write(d, "setxattr",
        RecordBuilder(188)
            .Arg(3, 4)
            .Path("/f")
            .Name("system.posix_acl_access")
            .Value(std::string("\x02\0\0\0\x01\0\x06\0", 8), 8)
            .Build());
  Write(d, "removexattrat", RecordBuilder(466).Path("/f").Name("user.x").Build());
  Write(d, "fchmod_resolved",
        RecordBuilder(91)
            .Arg(0, 3)
            .Arg(1, 0644)
            .Before(0100600, 0, 0)
            .After(0100644, 0, 0)
            .Resolved("/etc/x", PS_PATH_OBJECT)
            .Build());
  Write(d, "chmod_relative",
        RecordBuilder(90)
            .Arg(1, 0666)
            .Path("../a/./b")
            .Resolved("/etc/sudoers.d", PS_PATH_BASE | PS_PATH_TRUNCATED)
            .Build());
  Write(d, "rename_watched",
        RecordBuilder(316)
            .Path("/etc/.tmp")
            .Path2("passwd")
            .Resolved("/etc", PS_PATH_PARENT)
            .Before(0100644, 0, 0)
            .After(0100600, 0, 0)
            .Watched(0, PS_WM_NAME | PS_WM_PATH2)
            .Lookup(PS_LK_DONE)
            .Build());
  Write(d, "open_watched",
        RecordBuilder(257).Path("shadow").OpenFlags(01101).Watched(99, PS_WM_UNVERIFIED).Build());
  Write(d, "io_uring_setxattr",
        RecordBuilder::IoUring(42).Path("/f").Name("security.capability").Build());
  Write(d, "rich_chmod",
        RecordBuilder::Rich(permsentry::Op::kMode, 90)
            .Resolved("/etc/sudoers.d/x", PS_PATH_OBJECT)
            .Mode(0442)
            .Before(0100440, 0, 0)
            .After(0100442, 0, 0)
            .Watched(2, PS_WM_DIR_ENTRY)
            .Build());
  Write(d, "rich_rename",
        RecordBuilder::Rich(permsentry::Op::kRename, 82)
            .Resolved("/etc/.pw.tmp", PS_PATH_OBJECT)
            .Resolved2("/etc/passwd", PS_PATH_OBJECT)
            .Watched(0, PS_WM_NAME | PS_WM_PATH2)
            .Before(0100644, 0, 0, 7)
            .After(0100666, 0, 0, 8)
            .Build());
  Write(d, "rich_exec",
        RecordBuilder::Rich(permsentry::Op::kExecCreds, 59)
            .Text("/usr/bin/passwd")
            .Flags(PS_OF_CREDS)
            .Build());
  Write(d, "proc_fork", permsentry::testing::ProcRecord(PS_PROC_FORK, 10));
  Write(d, "proc_exec_root",
        permsentry::testing::ProcRecord(PS_PROC_EXEC, 10, "/usr/bin/bash", "CLAUDECODE=1", 10,
                                        PS_PF_SESSION_ROOT, PS_SIGNAL_ENV));
  Write(d, "proc_exit", permsentry::testing::ProcRecord(PS_PROC_EXIT, 10));
  return 0;
}
