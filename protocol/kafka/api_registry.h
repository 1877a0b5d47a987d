#pragma once
// Which Kafka APIs Sluice advertises in ApiVersions, and facts about every API we define.

#include <cstdint>
#include <span>
#include <string_view>

#include "protocol/kafka/messages/all.h"

namespace sluice::kafka {

struct AdvertisedApi {
  int16_t key;
  std::string_view name;
  int16_t min_version;  // as advertised in ApiVersions
  int16_t max_version;
  // Lowest version the broker actually serves (older ones get UNSUPPORTED_VERSION). Above
  // min_version only where clients need the wider advertised range (see api_registry.cc).
  int16_t accepted_min_version;
};

// Sorted by key.
std::span<const AdvertisedApi> AdvertisedApis();
const AdvertisedApi* FindAdvertisedApi(int16_t key);
// -1 when the API is not advertised.
int16_t AcceptedMinVersion(int16_t key);
// True when the API is advertised and `version` lies in [accepted min, max].
bool IsVersionAccepted(int16_t key, int16_t version);

// Every API with generated codecs, advertised or not; nullptr when unknown.
const DefinedApi* FindDefinedApi(int16_t key);
// Whether `version` of API `key` uses the flexible encoding (false for unknown APIs).
bool IsFlexible(int16_t key, int16_t version);

}  // namespace sluice::kafka
