// Who gained or lost which access through a change, in words a person reads in
// a second: "others: +w", "setuid bit added: runs as root (owner uid 0)",
// "user nobody (65534): rw- via ACL". A pure function of the event.
#ifndef PERMSENTRY_ENRICH_ACCESS_DELTA_H_
#define PERMSENTRY_ENRICH_ACCESS_DELTA_H_

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "common/names.h"
#include "common/text_list.h"
#include "decode/event.h"
#include "enrich/xattr_decode.h"

namespace permsentry {

// The file's access state before and after, as far as the event knows it.
struct FileStateChange {
  std::optional<uint32_t> mode_before, mode_after;  // 07777 bits
  std::optional<uint32_t> uid_before, uid_after;
  std::optional<uint32_t> gid_before, gid_after;
  bool is_dir = false;
};

// Before/after from the event: the kernel's inode reads for fd-named objects;
// otherwise "after" is what a successful call set, and "before" is unknown.
FileStateChange FileStateOf(const OpEvent& ev);

// "04755", "0644": octal with a leading zero, at least four digits.
std::string FormatMode(uint32_t mode);
void AppendMode(std::string* out, uint32_t mode);
// FormatMode's text on the stack: for a renderer that copies it at once.
struct ModeText {
  explicit ModeText(uint32_t mode);
  absl::string_view view() const { return absl::string_view(text, size < 6 ? size : 6); }
  char text[6];
  size_t size;
};

// The value of an xattr that carries rights, decoded once per event for every
// stage that reads it (rules' facts, the access delta, the renderers): set
// when the call wrote an ACL or file capabilities and the value was captured.
struct DecodedRights {
  std::optional<absl::StatusOr<PosixAcl>> acl;
  std::optional<absl::StatusOr<FileCaps>> caps;
};
DecodedRights DecodeRights(const OpEvent& ev);

// The access delta. Empty for calls that changed nothing (failures).
// `state` and `rights` are FileStateOf(ev) and DecodeRights(ev).
std::vector<std::string> AccessDelta(const OpEvent& ev, const FileStateChange& state,
                                     const DecodedRights& rights, NameCache& names);
std::vector<std::string> AccessDelta(const OpEvent& ev, NameCache& names);
// AccessDelta written into `out` (cleared first; its entries' buffers reused).
void AccessDeltaInto(const OpEvent& ev, const FileStateChange& state, const DecodedRights& rights,
                     NameCache& names, TextList& out);

}  // namespace permsentry

#endif  // PERMSENTRY_ENRICH_ACCESS_DELTA_H_
