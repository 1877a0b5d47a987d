#pragma once
// /v1/cluster on a broker's admin listener: a JSON summary of the cluster as this broker's
// metadata image has it, for tools and scripts (brokers, topic and partition counts, and the
// partitions that need attention).

#include <cstdint>
#include <string>

#include "protocol/metadata/image.h"

namespace sluice::broker {

std::string ClusterSummaryJson(const metadata::MetadataImage& image, int32_t self);

}  // namespace sluice::broker
