// The text form `permsentry tail` prints on a terminal, from a stream line:
//   12:04:51.734 HIGH     setid-bit-added: setuid or setgid bit added: /tmp/x ...
//   12:04:51.902 event    chmod "/tmp/y" 0644 -> 0600 by chmod (pid 4242, uid 0): ...
// Severity in colour when asked; plain events dimmed.
#ifndef PERMSENTRY_RENDER_TAIL_TEXT_H_
#define PERMSENTRY_RENDER_TAIL_TEXT_H_

#include <optional>
#include <string>

#include "absl/strings/string_view.h"

namespace permsentry {

// One line ending in '\n', or nullopt for a line that is not a stream event.
std::optional<std::string> TailTextLine(absl::string_view json_line, bool color);

// Control characters (and DEL) as \xNN: whatever a line holds, it stays one
// line on a terminal and cannot move the cursor.
std::string NoControls(absl::string_view s);

}  // namespace permsentry

#endif  // PERMSENTRY_RENDER_TAIL_TEXT_H_
