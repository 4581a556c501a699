// Buffers rendered lines and writes them to stdout in one write() per batch
// (a storm costs one syscall per 256 KiB, not one per event).
#ifndef PERMSENTRY_PIPELINE_STDOUT_WRITER_H_
#define PERMSENTRY_PIPELINE_STDOUT_WRITER_H_

#include <unistd.h>

#include <cerrno>
#include <string>

#include "absl/strings/string_view.h"

namespace permsentry {

class StdoutWriter {
 public:
  explicit StdoutWriter(int fd = STDOUT_FILENO) : fd_(fd) {}
  void Append(absl::string_view line) { buf_.append(line.data(), line.size()); }
  size_t size() const { return buf_.size(); }
  // False when stdout is gone (EPIPE or another hard error).
  bool Flush() {
    if (error_ != 0) {  // stdout already failed: keep saying so
      buf_.clear();
      return false;
    }
    size_t off = 0;
    while (off < buf_.size()) {
      const ssize_t n = write(fd_, buf_.data() + off, buf_.size() - off);
      if (n < 0) {
        if (errno == EINTR) continue;
        error_ = errno;
        buf_.clear();
        return false;
      }
      off += static_cast<size_t>(n);
    }
    buf_.clear();
    return true;
  }
  int error() const { return error_; }

 private:
  int fd_;
  std::string buf_;
  int error_ = 0;
};

}  // namespace permsentry

#endif  // PERMSENTRY_PIPELINE_STDOUT_WRITER_H_
