#include "attribute/kernel_sync.h"

#include "absl/strings/str_cat.h"

namespace permsentry {

absl::Status AttributionSync::SetSignatures(const KernelSignatures& next) {
  TypedTable<uint64_t, ps_ai_path_val> paths(tables_.ai_paths);
  TypedTable<uint64_t, ps_ai_env_val> env(tables_.ai_env);
  for (const auto& [k, v] : current_.paths)
    if (!next.paths.contains(k)) (void)paths.Delete(k);
  for (const auto& [k, v] : current_.env)
    if (!next.env.contains(k)) (void)env.Delete(k);
  for (const auto& [k, v] : next.paths) {
    if (absl::Status s = paths.Update(k, v); !s.ok()) {
      current_ = KernelSignatures{};
      return absl::Status(s.code(), absl::StrCat("agent signature paths: ", s.message(), " (",
                                                 next.paths.size(), " entries)"));
    }
  }
  for (const auto& [k, v] : next.env) {
    if (absl::Status s = env.Update(k, v); !s.ok()) {
      current_ = KernelSignatures{};
      return absl::Status(s.code(), absl::StrCat("agent environment markers: ", s.message(), " (",
                                                 next.env.size(), " entries)"));
    }
  }
  current_ = next;
  return absl::OkStatus();
}

std::vector<KernelProc> AttributionSync::ReadProcs() const {
  TypedTable<ps_proc_key, ps_proc_info> procs(tables_.procs);
  std::vector<KernelProc> out;
  procs.ForEachKey([&](const ps_proc_key& key) {
    KernelProc p{.key = key, .info = {}};
    if (procs.Lookup(key, p.info)) out.push_back(p);
  });
  return out;
}

absl::Status AttributionSync::WriteProc(const KernelProc& p) {
  TypedTable<ps_proc_key, ps_proc_info> procs(tables_.procs);
  absl::Status s = procs.UpdateExisting(p.key, p.info);
  return absl::IsNotFound(s) ? absl::OkStatus() : s;
}

size_t AttributionSync::CountProcs() const {
  TypedTable<ps_proc_key, ps_proc_info> procs(tables_.procs);
  size_t n = 0;
  procs.ForEachKey([&](const ps_proc_key&) { ++n; });
  return n;
}

}  // namespace permsentry
