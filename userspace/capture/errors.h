// One-line error text for the capture layer's failures.
#ifndef PERMSENTRY_CAPTURE_ERRORS_H_
#define PERMSENTRY_CAPTURE_ERRORS_H_

#include <string>

namespace permsentry {

// "Operation not permitted (EPERM)" for an errno (either sign).
std::string ErrText(int err);

}  // namespace permsentry

#endif  // PERMSENTRY_CAPTURE_ERRORS_H_
