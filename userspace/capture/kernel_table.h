// The kernel-side tables a capture backend exposes to the stages above it
// (watch list, agent signatures, process table), as a narrow interface: the
// stage that owns a table's contents decides what goes in; capture only moves
// bytes. No libbpf here, so those stages stay testable without a kernel.
#ifndef PERMSENTRY_CAPTURE_KERNEL_TABLE_H_
#define PERMSENTRY_CAPTURE_KERNEL_TABLE_H_

#include <cstdint>
#include <cstring>
#include <functional>
#include <type_traits>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "absl/types/span.h"

namespace permsentry {

// One kernel hash map with fixed-size keys and values.
class KernelTable {
 public:
  virtual ~KernelTable() = default;
  virtual absl::string_view name() const = 0;
  virtual size_t key_size() const = 0;
  virtual size_t value_size() const = 0;
  // Insert or replace. ResourceExhausted when the table is full.
  virtual absl::Status Update(const void* key, const void* value) = 0;
  // Update only an entry that exists; NotFound when it does not.
  virtual absl::Status UpdateExisting(const void* key, const void* value) = 0;
  // Remove; a missing entry is not an error.
  virtual absl::Status Delete(const void* key) = 0;
  // The value of `key` into `value`; false when absent.
  virtual bool Lookup(const void* key, void* value) const = 0;
  // Every key (a key deleted during the walk ends nothing: it goes on).
  virtual void ForEachKey(const std::function<void(const void* key)>& fn) const = 0;
};

// Typed access: the sizes are checked against the table's.
template <typename K, typename V>
class TypedTable {
 public:
  static_assert(std::is_trivially_copyable_v<K> && std::is_trivially_copyable_v<V>);
  explicit TypedTable(KernelTable* t) : t_(t) {}
  bool valid() const {
    return t_ != nullptr && t_->key_size() == sizeof(K) && t_->value_size() == sizeof(V);
  }
  KernelTable* table() const { return t_; }
  absl::Status Update(const K& k, const V& v) {
    return Check().ok() ? t_->Update(&k, &v) : Check();
  }
  absl::Status UpdateExisting(const K& k, const V& v) {
    return Check().ok() ? t_->UpdateExisting(&k, &v) : Check();
  }
  absl::Status Delete(const K& k) { return Check().ok() ? t_->Delete(&k) : Check(); }
  bool Lookup(const K& k, V& v) const { return valid() && t_->Lookup(&k, &v); }
  void ForEachKey(const std::function<void(const K&)>& fn) const {
    if (!valid()) return;
    t_->ForEachKey([&](const void* raw) {
      K k;
      std::memcpy(&k, raw, sizeof(K));
      fn(k);
    });
  }

 private:
  absl::Status Check() const {
    if (t_ == nullptr) return absl::FailedPreconditionError("this backend has no such table");
    if (!valid())
      return absl::InternalError(absl::StrCat("table ", t_->name(), ": key/value size mismatch"));
    return absl::OkStatus();
  }
  KernelTable* t_;
};

// The tables of a running backend. A backend without one (the rich backend
// needs no name filter) leaves it null.
struct KernelTables {
  KernelTable* watch_inodes = nullptr;  // ps_watch_key → ps_watch_val
  KernelTable* watch_names = nullptr;   // ps_watch_name_key → ps_watch_val
  KernelTable* watch_filter = nullptr;  // ps_watch_filter_key → u32 (tracepoint backend)
  KernelTable* ai_paths = nullptr;      // u64 → ps_ai_path_val
  KernelTable* ai_env = nullptr;        // u64 → ps_ai_env_val
  KernelTable* procs = nullptr;         // ps_proc_key → ps_proc_info
};

}  // namespace permsentry

#endif  // PERMSENTRY_CAPTURE_KERNEL_TABLE_H_
