#pragma once
// Typed configuration with Kafka property names: a schema of known properties, values read from
// a Java-properties file, then environment variables (SLUICE_ + upper-cased name with '.' -> '_'),
// then --override flags. Unknown keys and invalid values are errors that name the key.

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"

namespace sluice::config {

enum class Type { kInt, kLong, kBool, kString, kList, kDouble };

struct PropertyDef {
  std::string name;
  Type type = Type::kString;
  std::string default_value;  // textual; "" for a string/list means empty
  std::string doc;
  std::optional<int64_t> min;                // numeric lower bound (inclusive)
  std::optional<int64_t> max;                // numeric upper bound (inclusive)
  std::vector<std::string> allowed_values;   // for strings: the closed set of accepted values
};

class Schema {
 public:
  Schema& Define(PropertyDef def);
  const PropertyDef* Find(std::string_view name) const;
  const std::vector<PropertyDef>& defs() const { return defs_; }
  // Checks one textual value against its definition.
  absl::Status Validate(std::string_view name, std::string_view value) const;
  // "name (type, default X): doc" lines for --help.
  std::string Help() const;

 private:
  std::vector<PropertyDef> defs_;
  std::map<std::string, size_t, std::less<>> index_;
};

class Properties {
 public:
  Properties() = default;
  explicit Properties(const Schema* schema) : schema_(schema) {}

  // Sets a value after validating it; unknown names are an error.
  absl::Status Set(std::string_view name, std::string_view value);
  bool IsSet(std::string_view name) const { return values_.count(std::string(name)) > 0; }

  std::string GetString(std::string_view name) const;
  int64_t GetLong(std::string_view name) const;
  int32_t GetInt(std::string_view name) const { return static_cast<int32_t>(GetLong(name)); }
  double GetDouble(std::string_view name) const;
  bool GetBool(std::string_view name) const;
  std::vector<std::string> GetList(std::string_view name) const;

  const std::map<std::string, std::string, std::less<>>& explicit_values() const { return values_; }
  const Schema& schema() const { return *schema_; }

 private:
  const Schema* schema_ = nullptr;
  std::map<std::string, std::string, std::less<>> values_;
};

// Parses a Java properties file's text (comments '#'/'!', key=value or key: value, trimmed).
absl::StatusOr<std::vector<std::pair<std::string, std::string>>> ParsePropertiesText(std::string_view text);

struct CommandLine {
  bool help = false;
  std::optional<std::string> config_file;
  std::vector<std::pair<std::string, std::string>> overrides;
};
// Accepts --config FILE, --override key=value (repeatable) and --help.
absl::StatusOr<CommandLine> ParseCommandLine(int argc, char** argv);

// File, then environment, then overrides; the result holds only valid, known keys.
absl::StatusOr<Properties> Load(const Schema& schema, const CommandLine& command_line);

}  // namespace sluice::config
