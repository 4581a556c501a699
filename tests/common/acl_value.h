// Test helper: the bytes of a POSIX ACL xattr value, as setfacl writes them
// (u32 version, then u16 tag, u16 perm, u32 id per entry, little-endian).
#ifndef PERMSENTRY_TESTS_COMMON_ACL_VALUE_H_
#define PERMSENTRY_TESTS_COMMON_ACL_VALUE_H_

#include <cstdint>
#include <initializer_list>
#include <string>
#include <tuple>

namespace permsentry::testing {

inline constexpr uint32_t kAclNoId = 0xffffffff;  // ACL_UNDEFINED_ID

inline std::string AclValue(std::initializer_list<std::tuple<uint16_t, uint16_t, uint32_t>> entries,
                            uint32_t version = 2) {
  std::string v(reinterpret_cast<const char*>(&version), 4);
  for (auto [tag, perm, id] : entries) {
    v.append(reinterpret_cast<const char*>(&tag), 2);
    v.append(reinterpret_cast<const char*>(&perm), 2);
    v.append(reinterpret_cast<const char*>(&id), 4);
  }
  return v;
}

}  // namespace permsentry::testing

#endif  // PERMSENTRY_TESTS_COMMON_ACL_VALUE_H_
