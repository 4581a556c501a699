// Every event.action the sensor reports, in one fixed order, so that an action
// can travel as a small index: a bit in a rule's action mask, a slot in the
// per-action counters. The decoder looks the index up once per event.
#ifndef PERMSENTRY_COMMON_ACTIONS_H_
#define PERMSENTRY_COMMON_ACTIONS_H_

#include <string>
#include <vector>

#include "absl/strings/string_view.h"

namespace permsentry {

// The actions, in index order: the syscall table's (native and ia32, then
// io_uring), then the operations' own names for calls outside the table.
const std::vector<std::string>& Actions();

// Index of an event.action among Actions(), or -1. A table lookup by length
// and two bytes, then one comparison: cheap enough for every event.
int ActionIndex(absl::string_view action);
// The same for an action that is static text (the decoder's: a literal, or a
// syscall table entry's), remembered by its address: no comparison of text
// once an action has been seen.
int StaticActionIndex(absl::string_view action);

}  // namespace permsentry

#endif  // PERMSENTRY_COMMON_ACTIONS_H_
