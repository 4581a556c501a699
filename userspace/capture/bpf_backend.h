// What both backends share once their skeleton is loaded: the rings, the
// counters, the tables by name, and the process seed iterator, all found in
// the loaded bpf_object.
#ifndef PERMSENTRY_CAPTURE_BPF_BACKEND_H_
#define PERMSENTRY_CAPTURE_BPF_BACKEND_H_

#include <bpf/libbpf.h>

#include <memory>
#include <string>
#include <vector>

#include "capture/backend.h"

struct bpf_object;
struct bpf_map;
struct bpf_program;

namespace permsentry {

// A KernelTable over one BPF hash map.
class BpfTable : public KernelTable {
 public:
  explicit BpfTable(bpf_map* map);
  absl::string_view name() const override { return name_; }
  size_t key_size() const override { return key_size_; }
  size_t value_size() const override { return value_size_; }
  absl::Status Update(const void* key, const void* value) override;
  absl::Status UpdateExisting(const void* key, const void* value) override;
  absl::Status Delete(const void* key) override;
  bool Lookup(const void* key, void* value) const override;
  void ForEachKey(const std::function<void(const void* key)>& fn) const override;

 private:
  int fd_;
  std::string name_;
  size_t key_size_, value_size_;
};

class BpfBackend : public CaptureBackend {
 public:
  RingReader& rings() override { return *rings_; }
  absl::StatusOr<CaptureStats> ReadStats() const override;
  KernelTables tables() override;
  absl::Status SeedProcessTable() override;
  absl::Status ScanOpenWriters() override;
  absl::Status SetCoalesceWindow(absl::Duration window) override;
  absl::StatusOr<int> FlushRepeats(bool all) override;

 protected:
  // Map the rings and find the tables in a loaded, attached object.
  absl::Status Bind(bpf_object* obj, bpf_program* seed, bpf_program* scan,
                    RingReader::RecordHandler handler);
  // Before the skeleton that owns the object goes: the rings hold its maps.
  void Unbind();
  // Size the rings and the process table of an opened object (before load).
  static absl::Status SizeMaps(bpf_object* obj, const CaptureOptions& options);

 private:
  bpf_object* obj_ = nullptr;  // owned by the derived backend's skeleton
  bpf_program* seed_ = nullptr;
  bpf_program* scan_ = nullptr;
  int stats_fd_ = -1;
  int coalesce_conf_fd_ = -1;
  int flush_fd_ = -1;  // ps_coalesce_flush
  absl::Duration coalesce_window_ = absl::ZeroDuration();
  std::unique_ptr<RingReader> rings_;
  std::vector<std::unique_ptr<BpfTable>> tables_;
  KernelTables by_role_;
};

// libbpf's log goes to stderr only when asked (errors are one line).
void SetLibbpfVerbose(bool verbose);

// Options for opening a skeleton: CO-RE relocations against the kernel's own
// BTF file, named, so that libbpf does not enumerate kernel modules' BTF
// (BPF_BTF_GET_NEXT_ID, which only CAP_SYS_ADMIN may call): the programs use
// vmlinux types only, and the sensor then runs with CAP_BPF and CAP_PERFMON.
bpf_object_open_opts SkeletonOpenOptions();

}  // namespace permsentry

#endif  // PERMSENTRY_CAPTURE_BPF_BACKEND_H_
