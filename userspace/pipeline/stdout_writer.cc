#include "pipeline/stdout_writer.h"

#include <sys/stat.h>
#include <sys/uio.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

namespace permsentry {

// Bytes past the end made writable at a time. The string's capacity grows
// geometrically by itself; its size (the bytes touched, and so resident)
// grows only as lines need it.
constexpr size_t kRoom = 64u << 10;

StdoutWriter::StdoutWriter(int fd, size_t limit) : fd_(fd), limit_(limit) {
  struct stat st;
  // Only pipes and sockets: a terminal has no non-waiting writes, and a
  // regular file's writes do not wait for a reader.
  nowait_ = fstat(fd, &st) == 0 && (S_ISFIFO(st.st_mode) || S_ISSOCK(st.st_mode));
}

void StdoutWriter::Append(absl::string_view line, bool alert) {
  if (line.empty()) return;
  if (nowait_ && size() + line.size() > (alert ? 2 * limit_ : limit_)) {
    ++(alert ? dropped_alerts_ : dropped_);
    return;
  }
  Buffer& b = alert ? alerts_ : events_;
  if (b.data.size() < b.end + line.size()) b.data.resize(b.end + line.size() + kRoom);
  std::memcpy(b.data.data() + b.end, line.data(), line.size());
  b.end += line.size();
}

uint64_t StdoutWriter::Lines(const Buffer& b) {
  return static_cast<uint64_t>(std::count(b.data.begin() + static_cast<std::ptrdiff_t>(b.off),
                                          b.data.begin() + static_cast<std::ptrdiff_t>(b.end),
                                          '\n'));
}

bool StdoutWriter::WriteOut(Buffer& buf, size_t end) {
  while (buf.off < end) {
    iovec iov{.iov_base = buf.data.data() + buf.off, .iov_len = end - buf.off};
    const ssize_t n =
        nowait_ ? pwritev2(fd_, &iov, 1, -1, RWF_NOWAIT) : write(fd_, iov.iov_base, iov.iov_len);
    if (n < 0) {
      if (errno == EINTR) continue;
      if (nowait_ && (errno == EAGAIN || errno == EWOULDBLOCK)) return false;  // reader behind
      if (nowait_ && errno == EOPNOTSUPP) {
        nowait_ = false;  // a kernel without RWF_NOWAIT for pipes: wait as before
        continue;
      }
      error_ = errno;
      return false;
    }
    buf.off += static_cast<size_t>(n);
    // Stopped inside a line: that line is finished before anything else.
    partial_ = buf.data[buf.off - 1] == '\n' ? nullptr : &buf;
  }
  if (buf.off == buf.end) {
    buf.off = buf.end = 0;  // the bytes stay: room for the next lines
    if (partial_ == &buf) partial_ = nullptr;
  } else if (buf.off >= (256u << 10) && buf.off >= buf.end - buf.off) {
    // The written part to the front, once it is as large as what waits (so a
    // byte is moved at most about once): a reader that stays behind costs
    // room for what waits, not for all that went by since it last caught up.
    std::memmove(buf.data.data(), buf.data.data() + buf.off, buf.end - buf.off);
    buf.end -= buf.off;
    buf.off = 0;
  }
  return true;
}

bool StdoutWriter::Flush() {
  if (error_ == 0) {
    bool more = true;
    if (partial_ != nullptr) {
      Buffer& b = *partial_;
      const size_t nl = absl::string_view(b.data.data(), b.end).find('\n', b.off);
      more = WriteOut(b, nl == absl::string_view::npos ? b.end : nl + 1);
    }
    if (more) more = WriteOut(alerts_, alerts_.end);
    if (more) (void)WriteOut(events_, events_.end);
  }
  if (error_ != 0) {  // stdout failed: keep saying so
    events_ = Buffer{};
    alerts_ = Buffer{};
    partial_ = nullptr;
    return false;
  }
  return true;
}

}  // namespace permsentry
