// Configuration text: Java-properties files given to --config (common/config.h
// ParsePropertiesText), each pair then validated as a topic config the way the controller
// validates CreateTopics and AlterConfigs values from clients (protocol/metadata/topic_config.h).
// Properties: keys and values come out trimmed and single-line, and a value the schema accepts
// can be stored and read back through every typed getter.

#include <string>

#include "absl/strings/ascii.h"
#include "common/absl_compat.h"
#include "common/config.h"
#include "protocol/metadata/topic_config.h"
#include "tests/fuzz/fuzz_check.h"

namespace {

bool Trimmed(const std::string& text) {
  return text.find('\n') == std::string::npos && sluice::ToStd(absl::StripAsciiWhitespace(text)) == text;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace sluice;
  auto pairs = config::ParsePropertiesText(fuzz::AsBytes(data, size));
  if (!pairs.ok()) return 0;
  config::Properties properties(&metadata::TopicConfigSchema());
  for (const auto& [key, value] : *pairs) {
    SLUICE_FUZZ_CHECK(Trimmed(key) && Trimmed(value));
    metadata::ValidateTopicConfig(key, value).IgnoreError();
    if (!properties.Set(key, value).ok()) continue;
    SLUICE_FUZZ_CHECK(properties.GetString(key) == value);
    (void)properties.GetLong(key);
    (void)properties.GetDouble(key);
    (void)properties.GetBool(key);
    (void)properties.GetList(key);
  }
  return 0;
}
