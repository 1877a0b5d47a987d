#include "broker/cluster/partition_directory.h"

#include <fcntl.h>
#include <unistd.h>

#include <fstream>

#include <fmt/format.h>

#include "storage/log/file.h"

namespace sluice::broker {
namespace {
constexpr char kTopicIdFile[] = "partition.metadata";
}  // namespace

std::filesystem::path PartitionDirectory(const std::filesystem::path& data_dir, const std::string& topic,
                                         int32_t partition) {
  return data_dir / fmt::format("{}-{}", topic, partition);
}

std::string TopicIdHex(const metadata::TopicId& id) {
  std::string out;
  for (uint8_t byte : id) out += fmt::format("{:02x}", byte);
  return out;
}

absl::Status WriteTopicIdFile(const std::filesystem::path& dir, const metadata::TopicId& id) {
  const std::filesystem::path tmp = dir / (std::string(kTopicIdFile) + ".tmp");
  const std::string content = fmt::format("version: 0\ntopic_id: {}\n", TopicIdHex(id));
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) return absl::InternalError(fmt::format("cannot write {}", tmp.string()));
  bool ok = ::write(fd, content.data(), content.size()) == static_cast<ssize_t>(content.size()) && ::fsync(fd) == 0;
  ::close(fd);
  if (!ok) return absl::InternalError(fmt::format("cannot write {}", tmp.string()));
  std::error_code ec;
  std::filesystem::rename(tmp, dir / kTopicIdFile, ec);
  if (ec) return absl::InternalError(fmt::format("cannot rename {}: {}", tmp.string(), ec.message()));
  return storage::SyncDirectory(dir);
}

std::optional<std::string> ReadTopicIdFile(const std::filesystem::path& dir) {
  std::ifstream in(dir / kTopicIdFile);
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("topic_id: ", 0) == 0) return line.substr(10);
  }
  return std::nullopt;
}

std::vector<FoundDirectory> FindPartitionDirectories(const std::filesystem::path& data_dir) {
  std::vector<FoundDirectory> found;
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator(data_dir, ec)) {
    if (!entry.is_directory()) continue;
    if (auto id = ReadTopicIdFile(entry.path())) found.push_back({entry.path(), *id});
  }
  return found;
}

}  // namespace sluice::broker
