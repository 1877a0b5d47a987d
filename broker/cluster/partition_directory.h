#pragma once
// A replica's directory under log.dirs: `<topic>-<partition>` holding the log and
// `partition.metadata` with the topic id, so that a directory left by a deleted topic of the
// same name is recognised.

#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "protocol/metadata/image.h"

namespace sluice::broker {

std::filesystem::path PartitionDirectory(const std::filesystem::path& data_dir, const std::string& topic,
                                         int32_t partition);
std::string TopicIdHex(const metadata::TopicId& id);

// Written once, crash-safely, when the directory is created.
absl::Status WriteTopicIdFile(const std::filesystem::path& dir, const metadata::TopicId& id);
// The topic id (hex) in the directory's partition.metadata; nullopt when it has none.
std::optional<std::string> ReadTopicIdFile(const std::filesystem::path& dir);

struct FoundDirectory {
  std::filesystem::path path;
  std::string topic_id_hex;
};
// Replica directories (those with a partition.metadata) under `data_dir`.
std::vector<FoundDirectory> FindPartitionDirectories(const std::filesystem::path& data_dir);

}  // namespace sluice::broker
