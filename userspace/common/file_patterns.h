// The files a configuration names by pattern (rules.files, ai.files).
#ifndef PERMSENTRY_COMMON_FILE_PATTERNS_H_
#define PERMSENTRY_COMMON_FILE_PATTERNS_H_

#include <optional>
#include <string>
#include <vector>

namespace permsentry {

// The files `pattern` names: a glob's matches in name order (matching nothing
// is fine: rules.d/*.yaml on a host with none), or a plain path, which must
// exist. nullopt: a plain path that does not.
std::optional<std::vector<std::string>> FilesOf(const std::string& pattern);

}  // namespace permsentry

#endif  // PERMSENTRY_COMMON_FILE_PATTERNS_H_
