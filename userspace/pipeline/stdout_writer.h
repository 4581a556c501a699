// stdout as a sink that never blocks capture. Lines are buffered and written
// in batches (one write per 256 KiB in a storm, not one per event). When
// stdout is a pipe or a socket, writes never wait (RWF_NOWAIT): what the
// reader cannot take yet stays buffered, up to a bound; past it, plain events
// are dropped and counted (the caller reports them), while alerts are still
// kept. Alerts also go ahead of plain events still waiting (at a line
// boundary): a reader that is behind gets the alert first. A terminal or a
// regular file is written with ordinary blocking writes.
#ifndef PERMSENTRY_PIPELINE_STDOUT_WRITER_H_
#define PERMSENTRY_PIPELINE_STDOUT_WRITER_H_

#include <unistd.h>

#include <cstdint>
#include <string>

#include "absl/strings/string_view.h"

namespace permsentry {

class StdoutWriter {
 public:
  // `limit`: bytes a slow reader may be behind before events are dropped.
  explicit StdoutWriter(int fd = STDOUT_FILENO, size_t limit = 64u << 20);
  // `alert`: written ahead of waiting events, and kept past the limit (up to
  // a second limit as large again).
  void Append(absl::string_view line, bool alert = false);
  // A line rendered in place instead of appended (no copy): the buffer it goes
  // to and where it starts; bytes from there on are the caller's scratch (see
  // JsonWriter) until Commit(alert, n) keeps the n bytes written there, or
  // drops them as Append would past the limit.
  struct Space {
    std::string* data;
    size_t at;
  };
  Space Reserve(bool alert) {
    Buffer& b = alert ? alerts_ : events_;
    return Space{&b.data, b.end};
  }
  void Commit(bool alert, size_t n) {
    if (nowait_ && size() + n > (alert ? 2 * limit_ : limit_)) {
      ++(alert ? dropped_alerts_ : dropped_);
      return;
    }
    (alert ? alerts_ : events_).end += n;
  }
  // Bytes appended and not yet written.
  size_t size() const { return events_.end - events_.off + alerts_.end - alerts_.off; }
  // Write what the reader takes now. False when stdout is gone (EPIPE, or
  // another hard error: see error()).
  bool Flush();
  // Does the writer wait for stdout to take more (epoll EPOLLOUT on fd())?
  bool backlogged() const { return nowait_ && size() > 0; }
  int fd() const { return fd_; }
  int error() const { return error_; }
  uint64_t dropped() const { return dropped_; }
  uint64_t dropped_alerts() const { return dropped_alerts_; }
  // Lines appended and not yet written (a line written in part counts).
  uint64_t pending_events() const { return Lines(events_); }
  uint64_t pending_alerts() const { return Lines(alerts_); }

 private:
  struct Buffer {
    std::string data;  // [off, end): to write; past end: room, kept between lines
    size_t off = 0;
    size_t end = 0;
  };
  static uint64_t Lines(const Buffer& b);
  // Writes buf from its offset up to `end`; false when stdout took less (or
  // failed: error_ is set).
  bool WriteOut(Buffer& buf, size_t end);

  int fd_;
  size_t limit_;
  bool nowait_ = false;  // RWF_NOWAIT writes (pipes, sockets)
  Buffer events_, alerts_;
  Buffer* partial_ = nullptr;  // holds a line written in part: it goes first
  int error_ = 0;
  uint64_t dropped_ = 0;
  uint64_t dropped_alerts_ = 0;
};

}  // namespace permsentry

#endif  // PERMSENTRY_PIPELINE_STDOUT_WRITER_H_
