#include "rules/facts.h"

#include <sys/stat.h>

#include <algorithm>

#include "common/actions.h"
#include "enrich/xattr_decode.h"
#include "rules/rules.h"

namespace permsentry {
namespace {

uint8_t TypeOf(uint32_t mode) {
  if (S_ISREG(mode)) return kTypeFile;
  if (S_ISDIR(mode)) return kTypeDir;
  if (S_ISLNK(mode)) return kTypeSymlink;
  return kTypeOther;
}

void AclFacts(const OpEvent& ev, const Enriched& en, Facts& f) {
  const FileStateChange& st = en.state;
  if (ev.op != Op::kXattrSet || !en.rights.acl || !en.rights.acl->ok()) return;
  const PosixAcl* acl = &**en.rights.acl;
  std::optional<uint16_t> mask, user_obj, group_obj, other;
  for (const AclEntry& e : acl->entries) {
    if (e.tag == AclTag::kMask) mask = e.perm & 7;
    if (e.tag == AclTag::kUserObj) user_obj = e.perm & 7;
    if (e.tag == AclTag::kGroupObj) group_obj = e.perm & 7;
    if (e.tag == AclTag::kOther) other = e.perm & 7;
  }
  const std::optional<uint32_t> owner = st.uid_after ? st.uid_after : st.uid_before;
  const std::optional<uint32_t> before = st.mode_before;
  for (const AclEntry& e : acl->entries) {
    // Named entries are limited by the mask, as the kernel applies it.
    const uint16_t named = e.perm & mask.value_or(7) & 7;
    switch (e.tag) {
      case AclTag::kOther:
        // The other entry is the mode's other bits: a grant only where it adds
        // to them (a minimal ACL restating the mode, as `setfacl -b` writes,
        // grants nothing).
        if (e.perm & 7 & ~(before ? *before & 7 : 0)) f.acl_grants |= kGrantOthers;
        break;
      case AclTag::kUser:
        if (named == 0) break;
        f.acl_grants |= kGrantNamedUser;
        if (!owner || !e.id || *e.id != *owner) f.acl_grants |= kGrantNonOwnerUser;
        break;
      case AclTag::kGroup:
        if (named != 0) f.acl_grants |= kGrantNamedGroup;
        break;
      default:
        break;
    }
  }
  // An access ACL sets the mode's permission bits too: owner from the user
  // entry, group from the mask (or the group entry without one), other from
  // the other entry. `setfacl -m o::rwx` is `chmod o+rwx`, and the mode rules
  // see it as one.
  if (AclKindOf(*ev.xattr_name) != AclKind::kAccess || !user_obj || !group_obj || !other) return;
  const uint32_t perms = *user_obj << 6 | mask.value_or(*group_obj) << 3 | *other;
  f.mode_after = (before ? *before & 07000 : 0) | perms;
  f.mode_added = before ? perms & ~*before : perms;
  f.mode_removed = before ? *before & 0777 & ~perms : 0;
}

void CredsFacts(const OpEvent& ev, Facts& f) {
  if (!ev.creds_before || !ev.creds_after || !ev.success()) return;
  const Creds& b = *ev.creds_before;
  const Creds& a = *ev.creds_after;
  // A process turned root: its real uid became 0, or its effective or
  // filesystem uid became 0 while it held no root id at all before. A
  // privilege-dropping daemon taking root back from its saved uid is not one;
  // sudo and su switching their real uid to 0 are.
  const bool was_root = b.uid == 0 || b.euid == 0 || b.suid == 0;
  f.creds_to_root = (a.uid == 0 && b.uid != 0) ||
                    (!was_root && ((a.euid == 0 && b.euid != 0) || (a.fsuid == 0 && b.fsuid != 0)));
  // Capabilities in a new user namespace hold over what that namespace owns,
  // not over the host: entering one (unshare, a rootless container) gains none.
  // A capability is gained when it enters the permitted set: raising the
  // effective set from the permitted one (as setpriv and daemons dropping
  // their uid do with PR_SET_KEEPCAPS) gains nothing the process did not hold.
  if (a.userns == b.userns) f.caps_gained = (a.cap_permitted | a.cap_effective) & ~b.cap_permitted;
  if (ev.op == Op::kCreds && b.uid != 0 && b.euid != 0) {
    // Ids, and supplementary groups, held after that were held in no form
    // before (the groups before, when the backend knows them).
    const auto held = [&](uint32_t g) {
      return g == b.gid || g == b.egid || g == b.sgid || g == b.fsgid ||
             (ev.groups_before && std::find(ev.groups_before->begin(), ev.groups_before->end(),
                                            g) != ev.groups_before->end());
    };
    std::vector<uint32_t> now = {a.gid, a.egid, a.fsgid};
    if (ev.groups_after) now.insert(now.end(), ev.groups_after->begin(), ev.groups_after->end());
    for (const uint32_t g : now) {
      if (!held(g) &&
          std::find(f.gids_gained.begin(), f.gids_gained.end(), g) == f.gids_gained.end())
        f.gids_gained.push_back(g);
    }
  }
}

}  // namespace

Facts FactsOf(const OpEvent& ev, const Enriched& en) {
  Facts f;
  f.ev = &ev;
  f.en = &en;
  f.action = ev.action;
  // The decoder looked it up; an event made by hand may not have.
  f.action_index = ev.action_index >= 0 ? ev.action_index : ActionIndex(f.action);
  if (ev.sc != nullptr) f.syscall = ev.sc->name;
  f.outcome = ev.result == Result::kUnknown ? Outcome::kUnknown
              : ev.success()                ? Outcome::kSuccess
                                            : Outcome::kFailure;
  if (const std::string* p = ShownPath(ev, en); p != nullptr && !p->empty() && (*p)[0] == '/')
    f.path = p;
  const std::optional<InodeState>& inode = ev.inode_after ? ev.inode_after : ev.inode_before;
  if (inode) f.file_type = TypeOf(inode->mode);
  f.watched = ev.watch.has_value();
  if (en.watch != nullptr) f.watch_class = en.watch->cls;
  f.covers_watched = !en.covered.empty();
  f.path_changed = ev.call && ev.call->path_changed;

  const FileStateChange& st = en.state;
  const Op op = ev.op;
  if (op == Op::kMode) {
    // What the call set; for a failed call, what it asked for (an attempt to
    // add a setuid bit is worth a rule of its own).
    f.mode_after = ev.success() ? st.mode_after : ev.mode;
    if (f.mode_after) {
      const uint32_t after = *f.mode_after & 07777;
      f.mode_added = st.mode_before ? after & ~*st.mode_before : after;
      f.mode_removed = st.mode_before ? *st.mode_before & ~after : 0;
    }
  } else if (op == Op::kCreate || op == Op::kMkdir || op == Op::kMknod) {
    // A new object: every bit it has is added. An io_uring request's result is
    // not known at submission: the mode asked for, umask applied.
    f.mode_after = st.mode_after ? st.mode_after : ev.mode;
    if (f.mode_after) f.mode_added = *f.mode_after & 07777;
  } else if (op == Op::kRename && st.mode_after) {
    // A rename over a watched name: the new file against the one it replaced.
    f.mode_after = st.mode_after;
    f.mode_added = st.mode_before ? *st.mode_after & ~*st.mode_before : *st.mode_after;
    f.mode_removed = st.mode_before ? *st.mode_before & ~*st.mode_after : 0;
  } else {
    f.mode_after = st.mode_after ? st.mode_after : st.mode_before;
  }
  if (op == Op::kOwner) {
    if (ev.owner && (!st.uid_before || *st.uid_before != *ev.owner)) f.owner_to = ev.owner;
    if (ev.group && (!st.gid_before || *st.gid_before != *ev.group)) f.group_to = ev.group;
  }
  if (ev.xattr_name && AclKindOf(*ev.xattr_name) != AclKind::kNone) AclFacts(ev, en, f);
  if (op == Op::kXattrSet && ev.xattr_name && *ev.xattr_name == "security.capability") {
    f.file_caps_set = true;
    if (en.rights.caps && en.rights.caps->ok())
      f.file_caps = (*en.rights.caps)->permitted | (*en.rights.caps)->inheritable;
  }
  CredsFacts(ev, f);
  if (ev.ai) {
    f.ai = ev.ai.get();
    f.attribution = ev.ai->kind;
    if (!ev.ai->ancestry.empty()) f.executable = ev.ai->ancestry.front().executable;
  }
  const auto bit = [&](bool on, Present b) { f.present |= on ? b : 0u; };
  bit(f.path != nullptr, kHasPath);
  bit(f.file_type != 0, kHasFileType);
  bit(f.watched, kIsWatched);
  bit(!f.watch_class.empty(), kHasWatchClass);
  bit(f.covers_watched, kCoversWatched);
  bit(f.path_changed, kPathChanged);
  bit(f.mode_after.has_value(), kHasModeAfter);
  bit(f.mode_added != 0, kModeAdded);
  bit(f.mode_removed != 0, kModeRemoved);
  bit(f.owner_to.has_value(), kHasOwnerTo);
  bit(f.group_to.has_value(), kHasGroupTo);
  bit(f.acl_grants != 0, kAclGrants);
  bit(f.file_caps_set, kFileCapsSet);
  bit(f.creds_to_root, kCredsToRoot);
  bit(f.caps_gained != 0, kCapsGained);
  bit(!f.gids_gained.empty(), kGidsGained);
  bit(ev.xattr_name.has_value(), kHasXattrName);
  bit(!f.executable.empty(), kHasExecutable);
  return f;
}

}  // namespace permsentry
