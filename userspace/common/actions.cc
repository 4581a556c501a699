#include "common/actions.h"

#include <array>
#include <cstdint>

#include "absl/container/flat_hash_set.h"
#include "common/syscall_table.h"

namespace permsentry {

const std::vector<std::string>& Actions() {
  static const std::vector<std::string>* actions = [] {
    auto* v = new std::vector<std::string>();
    absl::flat_hash_set<std::string> seen;
    for (const auto& list : {AllSyscalls(), AllIoUringOps()}) {
      for (const SyscallInfo& s : list)
        if (seen.insert(std::string(s.action)).second) v->emplace_back(s.action);
    }
    // The operations' own names (either backend), for calls outside the
    // table; "clone" is a child made in a new user namespace (fork hook).
    for (const char* a :
         {"create", "mkdir", "mknod", "exec_setid", "cred_change", "mount", "umount", "write_open",
          "truncate", "rename", "link", "symlink", "unlink", "clone"})
      if (seen.insert(a).second) v->emplace_back(a);
    return v;
  }();
  return *actions;
}

namespace {

// Slots by (length, first byte, last byte): each holds the one action there,
// kCollision when several share it (then a scan), kNone when none does.
constexpr int kNone = -1, kCollision = -2;
constexpr size_t kSlots = 1024;

size_t SlotOf(absl::string_view a) {
  const auto first = static_cast<unsigned char>(a.front());
  const auto last = static_cast<unsigned char>(a.back());
  return (a.size() * 131 + first * 7 + last * 31) % kSlots;
}

int Scan(absl::string_view action) {
  const std::vector<std::string>& a = Actions();
  for (size_t i = 0; i < a.size(); ++i)
    if (a[i] == action) return static_cast<int>(i);
  return -1;
}

}  // namespace

int ActionIndex(absl::string_view action) {
  static const std::array<int16_t, kSlots>* table = [] {
    auto* t = new std::array<int16_t, kSlots>();
    t->fill(kNone);
    const std::vector<std::string>& a = Actions();
    for (size_t i = 0; i < a.size(); ++i) {
      int16_t& s = (*t)[SlotOf(a[i])];
      s = s == kNone ? static_cast<int16_t>(i) : static_cast<int16_t>(kCollision);
    }
    return t;
  }();
  if (action.empty()) return -1;
  const int i = (*table)[SlotOf(action)];
  if (i == kCollision) return Scan(action);
  if (i == kNone) return -1;
  return Actions()[static_cast<size_t>(i)] == action ? i : -1;
}

int StaticActionIndex(absl::string_view action) {
  // Static text stays at its address for the life of the process, so the
  // address (and length) identify it. Per thread: no locking.
  struct Seen {
    const char* data = nullptr;
    size_t size = 0;
    int index = -1;
  };
  thread_local std::array<Seen, 64> seen;
  Seen& s = seen[(reinterpret_cast<uintptr_t>(action.data()) >> 2) & 63];
  if (s.data != action.data() || s.size != action.size() || s.data == nullptr)
    s = Seen{action.data(), action.size(), ActionIndex(action)};
  return s.index;
}

}  // namespace permsentry
