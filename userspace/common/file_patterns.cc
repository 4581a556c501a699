#include "common/file_patterns.h"

#include <glob.h>

namespace permsentry {

std::optional<std::vector<std::string>> FilesOf(const std::string& pattern) {
  std::vector<std::string> paths;
  glob_t g{};
  if (glob(pattern.c_str(), 0, nullptr, &g) == 0)
    for (size_t i = 0; i < g.gl_pathc; ++i) paths.emplace_back(g.gl_pathv[i]);
  globfree(&g);
  if (paths.empty() && pattern.find_first_of("*?[") == std::string::npos) return std::nullopt;
  return paths;
}

}  // namespace permsentry
