// Alerts as JSON lines in a file, rotated by size: FILE, FILE.1 ... FILE.<keep>.
#ifndef PERMSENTRY_SINKS_FILE_SINK_H_
#define PERMSENTRY_SINKS_FILE_SINK_H_

#include <cstdint>
#include <string>

#include "sinks/sink.h"

namespace permsentry {

struct FileSinkConfig {
  std::string path;
  uint64_t max_bytes = 100ull << 20;  // rotate when the next line would pass this
  int keep = 5;                       // rotated files kept
};

class FileSink : public Sink {
 public:
  FileSink(Options options, FileSinkConfig config);
  ~FileSink() override;

 private:
  absl::Status Deliver(const AlertRecord& r) override;
  absl::Status Open();
  absl::Status Rotate();

  const FileSinkConfig config_;
  int fd_ = -1;
  uint64_t size_ = 0;
};

}  // namespace permsentry

#endif  // PERMSENTRY_SINKS_FILE_SINK_H_
