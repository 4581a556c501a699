#include "sinks/file_sink.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "absl/strings/str_cat.h"

namespace permsentry {

FileSink::FileSink(Options options, FileSinkConfig config)
    : Sink(std::move(options)), config_(std::move(config)) {
  Start();
}

FileSink::~FileSink() {
  Stop(absl::ZeroDuration());
  if (fd_ >= 0) close(fd_);
}

absl::Status FileSink::Open() {
  // 0640: alerts name files and users; root and the log group read them.
  fd_ = open(config_.path.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0640);
  if (fd_ < 0) {
    // Missing directory, full disk, read-only mount: may heal, so retried.
    return absl::UnavailableError(absl::StrCat("open ", config_.path, ": ", strerror(errno)));
  }
  struct stat st;
  size_ = fstat(fd_, &st) == 0 ? static_cast<uint64_t>(st.st_size) : 0;
  return absl::OkStatus();
}

absl::Status FileSink::Rotate() {
  close(fd_);
  fd_ = -1;
  // FILE.<keep-1> → FILE.<keep>, ..., FILE → FILE.1: the oldest falls off.
  for (int i = config_.keep - 1; i >= 1; --i) {
    (void)rename(absl::StrCat(config_.path, ".", i).c_str(),
                 absl::StrCat(config_.path, ".", i + 1).c_str());
  }
  if (config_.keep > 0) {
    (void)rename(config_.path.c_str(), absl::StrCat(config_.path, ".1").c_str());
  } else {
    (void)unlink(config_.path.c_str());
  }
  return Open();
}

absl::Status FileSink::Deliver(const AlertRecord& r) {
  if (fd_ < 0) {
    if (absl::Status s = Open(); !s.ok()) return s;
  }
  const uint64_t len = r.json.size() + 1;
  if (size_ > 0 && size_ + len > config_.max_bytes) {
    if (absl::Status s = Rotate(); !s.ok()) return s;
  }
  std::string line = r.json;
  line.push_back('\n');
  // One write per line with O_APPEND: a reader never sees half a line from us.
  const ssize_t n = write(fd_, line.data(), line.size());
  if (n != static_cast<ssize_t>(line.size())) {
    const int err = n < 0 ? errno : ENOSPC;
    close(fd_);
    fd_ = -1;
    return absl::UnavailableError(absl::StrCat("write ", config_.path, ": ", strerror(err)));
  }
  size_ += len;
  return absl::OkStatus();
}

}  // namespace permsentry
