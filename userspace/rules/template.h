// A rule's message: text with {field} placeholders, checked when the rule is
// loaded (an unknown field is a config error, not a blank in an alert at 3 am).
// "{{" and "}}" are literal braces. Values a process chose (file names, agent
// names) are escaped for one line; unknown values render as "?".
#ifndef PERMSENTRY_RULES_TEMPLATE_H_
#define PERMSENTRY_RULES_TEMPLATE_H_

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "common/names.h"
#include "rules/facts.h"

namespace permsentry {

class MessageTemplate {
 public:
  static absl::StatusOr<MessageTemplate> Parse(absl::string_view text);
  // The placeholder names, for error messages and --help.
  static std::vector<absl::string_view> FieldNames();

  struct Context {
    const Facts* facts;
    absl::string_view rule_id, rule_name, severity;
    NameCache* names;
  };
  std::string Render(const Context& ctx) const;
  const std::string& text() const { return text_; }

 private:
  struct Part {
    int field = -1;  // index into the field table; -1: literal
    std::string literal;
  };
  std::string text_;
  std::vector<Part> parts_;
};

}  // namespace permsentry

#endif  // PERMSENTRY_RULES_TEMPLATE_H_
