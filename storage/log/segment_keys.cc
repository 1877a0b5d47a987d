#include "storage/log/segment_keys.h"

#include <fcntl.h>

#include "absl/strings/str_cat.h"
#include "common/status_macros.h"
#include "storage/encryption/segment_format.h"
#include "storage/log/encrypted_log.h"
#include "storage/log/segment.h"

namespace sluice::storage {
namespace {

bool IsSegmentLog(const std::string& name) {
  constexpr std::string_view kSwap = ".swap";
  std::string_view log = name;
  if (log.ends_with(kSwap)) log.remove_suffix(kSwap.size());
  return LogSegment::ParseLogFileName(log).has_value();
}

}  // namespace

absl::StatusOr<SegmentKeySummary> PrepareSegmentKeys(const std::filesystem::path& data_dir, const KeyProvider* keys) {
  SegmentKeySummary summary;
  std::error_code error;
  for (const auto& partition : std::filesystem::directory_iterator(data_dir, error)) {
    if (!partition.is_directory()) continue;
    for (const auto& entry : std::filesystem::directory_iterator(partition.path(), error)) {
      if (!entry.is_regular_file() || !IsSegmentLog(entry.path().filename().string())) continue;
      SLUICE_ASSIGN_OR_RETURN(std::shared_ptr<File> file, File::Open(entry.path(), O_RDWR));
      SLUICE_ASSIGN_OR_RETURN(int64_t size, file->Size());
      char first = 0;
      if (size > 0) SLUICE_RETURN_IF_ERROR(file->ReadExact(&first, 1, 0));
      if (size == 0 || !encrypted_segment::HasMagic(std::string_view(&first, 1))) {
        ++summary.plaintext;
        continue;
      }
      ++summary.encrypted;
      if (keys == nullptr) {
        SLUICE_ASSIGN_OR_RETURN(std::optional<std::string> key_id, EncryptedLog::ReadKeyId(*file));
        return absl::FailedPreconditionError(
            absl::StrCat("segment ", entry.path().string(), " is encrypted (master key id '",
                         key_id.value_or("unknown"), "') but log.encryption.enable is false: ",
                         "enable it with log.encryption.master.key.file holding that key"));
      }
      SLUICE_ASSIGN_OR_RETURN(bool rewrapped, EncryptedLog::CheckAndRewrap(*file, *keys));
      if (rewrapped) ++summary.rewrapped;
    }
    if (error) break;
  }
  if (error && error != std::errc::no_such_file_or_directory) {
    return absl::InternalError(absl::StrCat("list ", data_dir.string(), ": ", error.message()));
  }
  return summary;
}

}  // namespace sluice::storage
