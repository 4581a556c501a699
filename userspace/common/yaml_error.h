// Config errors point at the line: "FILE:LINE: what is wrong".
#ifndef PERMSENTRY_COMMON_YAML_ERROR_H_
#define PERMSENTRY_COMMON_YAML_ERROR_H_

#include "absl/status/status.h"
#include "absl/strings/str_format.h"
#include "absl/strings/string_view.h"
#include "yaml-cpp/yaml.h"

namespace permsentry {

inline absl::Status YamlError(absl::string_view origin, const YAML::Mark& mark,
                              absl::string_view what) {
  // yaml-cpp marks are 0-based; editors count from 1.
  return absl::InvalidArgumentError(
      absl::StrFormat("%s:%d: %s", origin, mark.is_null() ? 1 : mark.line + 1, what));
}

}  // namespace permsentry

#endif  // PERMSENTRY_COMMON_YAML_ERROR_H_
