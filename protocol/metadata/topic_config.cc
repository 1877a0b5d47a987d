#include "protocol/metadata/topic_config.h"

#include <fmt/format.h>

#include "absl/strings/numbers.h"
#include "common/absl_compat.h"

#include "common/status_macros.h"

namespace sluice::metadata {

using config::PropertyDef;
using config::Type;

const std::vector<TopicConfigKey>& TopicConfigKeys() {
  static const std::vector<TopicConfigKey> keys = {
      {"cleanup.policy", "log.cleanup.policy"},
      {"compression.type", "compression.type"},
      {"delete.retention.ms", "log.cleaner.delete.retention.ms"},
      {"flush.messages", "log.flush.interval.messages"},
      {"flush.ms", "log.flush.interval.ms"},
      {"index.interval.bytes", "log.index.interval.bytes"},
      {"max.message.bytes", "message.max.bytes"},
      {"message.timestamp.type", "log.message.timestamp.type"},
      {"min.cleanable.dirty.ratio", "log.cleaner.min.cleanable.ratio"},
      {"min.insync.replicas", "min.insync.replicas"},
      {"retention.bytes", "log.retention.bytes"},
      {"retention.ms", "log.retention.ms"},
      {"segment.bytes", "log.segment.bytes"},
      {"segment.index.bytes", "log.index.size.max.bytes"},
      {"segment.ms", "log.roll.ms"},
      {"unclean.leader.election.enable", "unclean.leader.election.enable"},
  };
  return keys;
}

const config::Schema& TopicConfigSchema() {
  static const config::Schema schema = [] {
    config::Schema s;
    s.Define({.name = "cleanup.policy", .type = Type::kString, .default_value = "delete",
              .doc = "delete: remove old segments by retention; compact: keep the latest record of each key "
                     "(compact,delete: both)",
              .allowed_values = {"delete", "compact", "compact,delete", "delete,compact"}});
    s.Define({.name = "compression.type", .type = Type::kString, .default_value = "producer",
              .doc = "producer: keep batches as the producer compressed them",
              .allowed_values = {"producer", "uncompressed", "gzip", "snappy", "lz4", "zstd"}});
    s.Define({.name = "delete.retention.ms", .type = Type::kLong, .default_value = "86400000",
              .doc = "how long the log cleaner keeps tombstones (null values) of a compacted topic", .min = 0});
    s.Define({.name = "flush.messages", .type = Type::kLong, .default_value = "9223372036854775807",
              .doc = "fsync after this many messages", .min = 1});
    s.Define({.name = "flush.ms", .type = Type::kLong, .default_value = "9223372036854775807",
              .doc = "fsync after this many milliseconds", .min = 0});
    s.Define({.name = "index.interval.bytes", .type = Type::kInt, .default_value = "4096",
              .doc = "bytes between offset index entries", .min = 0});
    s.Define({.name = "max.message.bytes", .type = Type::kInt, .default_value = "1048588",
              .doc = "largest record batch accepted", .min = 0});
    s.Define({.name = "message.timestamp.type", .type = Type::kString, .default_value = "CreateTime",
              .doc = "CreateTime or LogAppendTime", .allowed_values = {"CreateTime", "LogAppendTime"}});
    s.Define({.name = "min.cleanable.dirty.ratio", .type = Type::kDouble, .default_value = "0.5",
              .doc = "share of not yet compacted bytes (0..1) at which the log cleaner runs"});
    s.Define({.name = "min.insync.replicas", .type = Type::kInt, .default_value = "1",
              .doc = "replicas that must acknowledge an acks=all write", .min = 1});
    s.Define({.name = "retention.bytes", .type = Type::kLong, .default_value = "-1",
              .doc = "partition size beyond which old segments are deleted (-1: no limit)", .min = -1});
    s.Define({.name = "retention.ms", .type = Type::kLong, .default_value = "604800000",
              .doc = "age beyond which segments are deleted (-1: keep forever)", .min = -1});
    s.Define({.name = "segment.bytes", .type = Type::kInt, .default_value = "1073741824",
              .doc = "segment file size at which a new segment is rolled", .min = 14});
    s.Define({.name = "segment.index.bytes", .type = Type::kInt, .default_value = "10485760",
              .doc = "maximum size of a segment's offset index", .min = 4});
    s.Define({.name = "segment.ms", .type = Type::kLong, .default_value = "604800000",
              .doc = "segment age at which a new segment is rolled", .min = 1});
    s.Define({.name = "unclean.leader.election.enable", .type = Type::kBool, .default_value = "false",
              .doc = "allow a replica outside the ISR to become leader"});
    return s;
  }();
  return schema;
}

absl::Status ValidateTopicConfig(std::string_view key, std::string_view value) {
  SLUICE_RETURN_IF_ERROR(TopicConfigSchema().Validate(key, value));
  if (key == "min.cleanable.dirty.ratio") {
    double ratio = 0;
    if (!absl::SimpleAtod(ToAbsl(value), &ratio) || !(ratio >= 0 && ratio <= 1)) {
      return absl::InvalidArgumentError(fmt::format("min.cleanable.dirty.ratio {} is outside [0, 1]", value));
    }
  }
  if (key == "compression.type" && value != "producer") {
    return absl::InvalidArgumentError(
        fmt::format("compression.type '{}' is not supported yet (only producer: batches are stored as sent)", value));
  }
  return absl::OkStatus();
}

bool IsListTopicConfig(std::string_view key) { return key == "cleanup.policy"; }

}  // namespace sluice::metadata
