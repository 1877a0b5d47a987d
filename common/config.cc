#include "common/config.h"

#include <cstdlib>
#include <fstream>
#include <sstream>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "common/absl_compat.h"
#include "common/status_macros.h"
#include <fmt/format.h>

namespace sluice::config {
namespace {

const char* TypeName(Type type) {
  switch (type) {
    case Type::kInt: return "int";
    case Type::kLong: return "long";
    case Type::kBool: return "boolean";
    case Type::kString: return "string";
    case Type::kList: return "list";
    case Type::kDouble: return "double";
  }
  return "?";
}

std::string EnvName(std::string_view property) {
  std::string name = "SLUICE_";
  for (char c : property) name += (c == '.' || c == '-') ? '_' : absl::ascii_toupper(static_cast<unsigned char>(c));
  return name;
}

}  // namespace

Schema& Schema::Define(PropertyDef def) {
  index_[def.name] = defs_.size();
  defs_.push_back(std::move(def));
  return *this;
}

const PropertyDef* Schema::Find(std::string_view name) const {
  auto it = index_.find(name);
  return it == index_.end() ? nullptr : &defs_[it->second];
}

absl::Status Schema::Validate(std::string_view name, std::string_view value) const {
  const PropertyDef* def = Find(name);
  if (def == nullptr) return absl::InvalidArgumentError(fmt::format("unknown configuration '{}'", name));
  switch (def->type) {
    case Type::kInt:
    case Type::kLong: {
      int64_t parsed;
      if (!absl::SimpleAtoi(ToAbsl(value), &parsed)) {
        return absl::InvalidArgumentError(fmt::format("configuration '{}': '{}' is not an integer", name, value));
      }
      if (def->type == Type::kInt && (parsed < INT32_MIN || parsed > INT32_MAX)) {
        return absl::InvalidArgumentError(fmt::format("configuration '{}': {} does not fit an int", name, value));
      }
      if (def->min && parsed < *def->min) {
        return absl::InvalidArgumentError(fmt::format("configuration '{}': {} is below the minimum {}", name, value, *def->min));
      }
      if (def->max && parsed > *def->max) {
        return absl::InvalidArgumentError(fmt::format("configuration '{}': {} is above the maximum {}", name, value, *def->max));
      }
      return absl::OkStatus();
    }
    case Type::kDouble: {
      double parsed;
      if (!absl::SimpleAtod(ToAbsl(value), &parsed)) {
        return absl::InvalidArgumentError(fmt::format("configuration '{}': '{}' is not a number", name, value));
      }
      return absl::OkStatus();
    }
    case Type::kBool: {
      std::string lower = absl::AsciiStrToLower(ToAbsl(value));
      if (lower != "true" && lower != "false") {
        return absl::InvalidArgumentError(fmt::format("configuration '{}': '{}' is not true or false", name, value));
      }
      return absl::OkStatus();
    }
    case Type::kString:
      if (!def->allowed_values.empty()) {
        for (const auto& allowed : def->allowed_values) {
          if (allowed == value) return absl::OkStatus();
        }
        return absl::InvalidArgumentError(fmt::format("configuration '{}': '{}' is not one of [{}]", name, value,
                                                      fmt::join(def->allowed_values, ", ")));
      }
      return absl::OkStatus();
    case Type::kList:
      return absl::OkStatus();
  }
  return absl::OkStatus();
}

std::string Schema::Help() const {
  std::string out;
  for (const auto& def : defs_) {
    out += fmt::format("  {} ({}, default \"{}\")\n      {}\n", def.name, TypeName(def.type), def.default_value, def.doc);
  }
  return out;
}

absl::Status Properties::Set(std::string_view name, std::string_view value) {
  std::string trimmed(absl::StripAsciiWhitespace(ToAbsl(value)));
  SLUICE_RETURN_IF_ERROR(schema_->Validate(name, trimmed));
  values_[std::string(name)] = std::move(trimmed);
  return absl::OkStatus();
}

std::string Properties::GetString(std::string_view name) const {
  auto it = values_.find(name);
  if (it != values_.end()) return it->second;
  const PropertyDef* def = schema_->Find(name);
  return def ? def->default_value : std::string();
}

int64_t Properties::GetLong(std::string_view name) const {
  int64_t value = 0;
  (void)absl::SimpleAtoi(GetString(name), &value);
  return value;
}

double Properties::GetDouble(std::string_view name) const {
  double value = 0;
  (void)absl::SimpleAtod(GetString(name), &value);
  return value;
}

bool Properties::GetBool(std::string_view name) const { return absl::AsciiStrToLower(GetString(name)) == "true"; }

std::vector<std::string> Properties::GetList(std::string_view name) const {
  std::vector<std::string> out;
  for (absl::string_view part : absl::StrSplit(GetString(name), ',', absl::SkipWhitespace())) {
    out.emplace_back(absl::StripAsciiWhitespace(part));
  }
  return out;
}

absl::StatusOr<std::vector<std::pair<std::string, std::string>>> ParsePropertiesText(std::string_view text) {
  std::vector<std::pair<std::string, std::string>> out;
  int line_number = 0;
  for (absl::string_view raw : absl::StrSplit(ToAbsl(text), '\n')) {
    ++line_number;
    absl::string_view line = absl::StripAsciiWhitespace(raw);
    if (line.empty() || line.front() == '#' || line.front() == '!') continue;
    size_t sep = line.find_first_of("=:");
    if (sep == absl::string_view::npos) {
      return absl::InvalidArgumentError(fmt::format("line {}: expected key=value, got '{}'", line_number, line));
    }
    out.emplace_back(std::string(absl::StripAsciiWhitespace(line.substr(0, sep))),
                     std::string(absl::StripAsciiWhitespace(line.substr(sep + 1))));
  }
  return out;
}

absl::StatusOr<CommandLine> ParseCommandLine(int argc, char** argv) {
  CommandLine result;
  for (int i = 1; i < argc; ++i) {
    std::string_view arg = argv[i];
    auto next_value = [&](std::string_view flag) -> absl::StatusOr<std::string> {
      if (i + 1 >= argc) return absl::InvalidArgumentError(fmt::format("{} needs a value", flag));
      return std::string(argv[++i]);
    };
    if (arg == "--help" || arg == "-h") {
      result.help = true;
    } else if (arg == "--config") {
      SLUICE_ASSIGN_OR_RETURN(result.config_file, next_value(arg));
    } else if (arg == "--override") {
      SLUICE_ASSIGN_OR_RETURN(std::string pair, next_value(arg));
      size_t eq = pair.find('=');
      if (eq == std::string::npos) return absl::InvalidArgumentError(fmt::format("--override expects key=value, got '{}'", pair));
      result.overrides.emplace_back(pair.substr(0, eq), pair.substr(eq + 1));
    } else {
      return absl::InvalidArgumentError(fmt::format("unknown argument '{}' (see --help)", arg));
    }
  }
  return result;
}

absl::StatusOr<Properties> Load(const Schema& schema, const CommandLine& command_line) {
  Properties props(&schema);
  if (command_line.config_file) {
    std::ifstream in(*command_line.config_file);
    if (!in) return absl::NotFoundError(fmt::format("cannot read config file '{}'", *command_line.config_file));
    std::stringstream buffer;
    buffer << in.rdbuf();
    SLUICE_ASSIGN_OR_RETURN(auto pairs, ParsePropertiesText(buffer.str()));
    for (const auto& [key, value] : pairs) {
      absl::Status status = props.Set(key, value);
      if (!status.ok()) return absl::InvalidArgumentError(fmt::format("{}: {}", *command_line.config_file, status.message()));
    }
  }
  for (const auto& def : schema.defs()) {
    if (const char* env = std::getenv(EnvName(def.name).c_str())) {
      absl::Status status = props.Set(def.name, env);
      if (!status.ok()) return absl::InvalidArgumentError(fmt::format("{}: {}", EnvName(def.name), status.message()));
    }
  }
  for (const auto& [key, value] : command_line.overrides) {
    SLUICE_RETURN_IF_ERROR(props.Set(key, value));
  }
  return props;
}

}  // namespace sluice::config
