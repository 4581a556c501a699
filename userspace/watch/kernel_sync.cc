#include "watch/kernel_sync.h"

#include <algorithm>
#include <cstring>
#include <type_traits>
#include <vector>

#include "permsentry/abi/events.h"

namespace permsentry {
namespace {

ps_watch_key ToKey(const InodeId& id) {
  return ps_watch_key{.ino = id.ino, .dev = id.dev, ._pad0 = 0};
}

ps_watch_name_key ToKey(const NameInDir& n) {
  ps_watch_name_key k{};
  k.dir_ino = n.dir.ino;
  k.dir_dev = n.dir.dev;
  std::memcpy(k.name, n.name.data(), std::min(n.name.size(), sizeof(k.name) - 1));
  return k;
}

ps_watch_filter_key ToKey(const std::string& name) {
  ps_watch_filter_key k{};
  std::memcpy(k.name, name.data(), std::min(name.size(), sizeof(k.name) - 1));
  return k;
}

ps_watch_val ToVal(const WatchVal& v) { return ps_watch_val{.cls = v.cls, .flags = v.flags}; }
uint32_t ToVal(uint32_t v) { return v; }

// Bring one kernel table from `cur` to `next`.
template <typename Map>
absl::Status SyncTable(KernelTable* table, const Map& cur, const Map& next) {
  using Key = decltype(ToKey(std::declval<typename Map::key_type>()));
  using Val = decltype(ToVal(std::declval<typename Map::mapped_type>()));
  TypedTable<Key, Val> t(table);
  for (const auto& [k, v] : cur) {
    if (next.contains(k)) continue;
    if (absl::Status s = t.Delete(ToKey(k)); !s.ok()) return s;
  }
  if constexpr (std::is_same_v<typename Map::key_type, InodeId>) {
    std::vector<ps_watch_key> stale;
    t.ForEachKey([&](const ps_watch_key& key) {
      if (!next.contains(InodeId{.ino = key.ino, .dev = key.dev})) stale.push_back(key);
    });
    for (const ps_watch_key& s : stale) (void)t.Delete(s);
  }
  for (const auto& [k, v] : next) {
    auto it = cur.find(k);
    if (it != cur.end() && it->second == v) continue;
    if (absl::Status s = t.Update(ToKey(k), ToVal(v)); !s.ok()) {
      return absl::Status(s.code(), absl::StrCat(s.message(), " (", next.size(), " entries)"));
    }
  }
  return absl::OkStatus();
}

}  // namespace

absl::Status WatchSync::Apply(const KernelWatch& next) {
  // Names and inodes before the filter: a filter hit must find the identity
  // tables ready. A backend without a name filter (rich) skips it.
  absl::Status s = SyncTable(tables_.watch_names, current_.names, next.names);
  if (s.ok()) s = SyncTable(tables_.watch_inodes, current_.inodes, next.inodes);
  if (s.ok() && tables_.watch_filter != nullptr)
    s = SyncTable(tables_.watch_filter, current_.filter, next.filter);
  if (!s.ok()) {
    current_ = KernelWatch{};  // unknown state: the next call rewrites everything
    return s;
  }
  current_ = next;
  return absl::OkStatus();
}

}  // namespace permsentry
