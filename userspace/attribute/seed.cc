#include "attribute/seed.h"

#include <cstring>

#include "absl/container/flat_hash_map.h"

namespace permsentry {

std::vector<size_t> SeedSessions(std::vector<KernelProc>& procs, const SignatureSet& sigs,
                                 ProcessTable& table, absl::Time now, const ProcReader& read) {
  const auto key = [](const ps_proc_key& k) { return ProcKey{.pid = k.tgid, .start_ns = k.start}; };
  absl::flat_hash_map<ProcKey, size_t> index;
  for (size_t i = 0; i < procs.size(); ++i) index[key(procs[i].key)] = i;

  std::vector<bool> changed(procs.size(), false);
  std::vector<std::optional<ProcFsInfo>> fs(procs.size());
  std::vector<std::optional<SignatureMatch>> match(procs.size());
  for (size_t i = 0; i < procs.size(); ++i) {
    KernelProc& p = procs[i];
    fs[i] = read(p.key.tgid);
    if (!fs[i] || p.info.session.tgid != 0) continue;
    bool ide = false;
    match[i] = MatchProcess(sigs, fs[i]->image, &ide);
    if (ide && !(p.info.flags & PS_PF_IDE)) {
      p.info.flags |= PS_PF_IDE;
      changed[i] = true;
    }
    if (match[i]) {
      p.info.session = p.key;
      p.info.flags |= PS_PF_SESSION_ROOT;
      p.info.sig = match[i]->sig;
      p.info.signal = match[i]->signal;
      changed[i] = true;
    }
  }
  // Spread sessions (and the IDE flag) down the parent links until nothing
  // changes: the iterator saw children before parents now and then.
  for (bool again = true; again;) {
    again = false;
    for (size_t i = 0; i < procs.size(); ++i) {
      KernelProc& p = procs[i];
      auto it = index.find(key(p.info.parent));
      if (it == index.end()) continue;
      const ps_proc_info& parent = procs[it->second].info;
      if (p.info.session.tgid == 0 && parent.session.tgid != 0) {
        p.info.session = parent.session;
        changed[i] = again = true;
      }
      if ((parent.flags & PS_PF_IDE) && !(p.info.flags & PS_PF_IDE)) {
        p.info.flags |= PS_PF_IDE;
        changed[i] = again = true;
      }
    }
  }
  for (size_t i = 0; i < procs.size(); ++i) {
    const KernelProc& p = procs[i];
    ProcEntry e;
    e.key = key(p.key);
    e.parent = key(p.info.parent);
    e.session = key(p.info.session);
    e.flags = p.info.flags;
    // The kernel's entry, completed from /proc where it says more.
    e.loginuid = p.info.loginuid;
    e.sessionid = p.info.sessionid;
    e.tty = p.info.tty;
    e.comm = std::string(p.info.comm, strnlen(p.info.comm, sizeof(p.info.comm)));
    if (fs[i]) {
      e.uid = fs[i]->uid;
      e.euid = fs[i]->euid;
      e.loginuid = fs[i]->loginuid;
      e.sessionid = fs[i]->sessionid;
      e.tty = fs[i]->tty;
      e.comm = fs[i]->comm;
      e.exe = fs[i]->image.exe;
    }
    table.Seed(e, p.info.sig, p.info.signal, match[i] ? match[i]->text : std::string(), now);
  }
  std::vector<size_t> out;
  for (size_t i = 0; i < procs.size(); ++i)
    if (changed[i]) out.push_back(i);
  return out;
}

}  // namespace permsentry
