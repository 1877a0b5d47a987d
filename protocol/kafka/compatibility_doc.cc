#include "protocol/kafka/compatibility_doc.h"

#include <fmt/format.h>

#include "protocol/kafka/api_registry.h"

namespace sluice::kafka {

std::string RenderCompatibilityDoc() {
  std::string out =
      "# Kafka protocol compatibility\n"
      "\n"
      "<!-- Generated from protocol/kafka/api_registry.cc; do not edit by hand. Regenerate with:\n"
      "     ninja -C build kafka_compatibility_doc && build/protocol/kafka/kafka_compatibility_doc"
      " > docs/compatibility.md -->\n"
      "\n"
      "APIs the broker advertises in ApiVersions, with their version ranges. Versions below\n"
      "\"Served from\" are advertised for client feature detection but answered with\n"
      "UNSUPPORTED_VERSION. \"Flexible from\" is the first version with compact encoding and\n"
      "tagged fields. As in Kafka, bytes after a request's body inside its frame are ignored\n"
      "(librdkafka 2.15 sends some); a body that ends early closes the connection.\n"
      "GetTelemetrySubscriptions (71) and PushTelemetry (72) are not advertised, as a Kafka\n"
      "broker without a client telemetry receiver does not advertise them (KIP-714): clients\n"
      "then send no metrics.\n"
      "\n"
      "| Key | API | Advertised versions | Served from | Flexible from |\n"
      "|----:|-----|---------------------|-------------|---------------|\n";
  for (const AdvertisedApi& api : AdvertisedApis()) {
    const DefinedApi* defined = FindDefinedApi(api.key);
    const bool has_flexible = defined != nullptr && defined->first_flexible_version <= api.max_version;
    out += fmt::format("| {} | {} | {}-{} | {} | {} |\n", api.key, api.name, api.min_version, api.max_version,
                       api.accepted_min_version,
                       has_flexible ? fmt::format("{}", defined->first_flexible_version) : std::string("-"));
  }
  return out;
}

}  // namespace sluice::kafka
