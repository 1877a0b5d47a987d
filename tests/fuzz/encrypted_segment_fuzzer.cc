// An encrypted segment log as a broker finds it on disk (storage/encryption/segment_format.h,
// storage/log/encrypted_log.h): whatever a crash, a disk or an attacker left there. The input
// is the whole file. Properties: every header slot and chunk header that decodes re-encodes to
// the same bytes; EncryptedLog::Open fails only with kDataLoss or kFailedPrecondition; after a
// recovering Open (which authenticates every chunk) the whole log reads back, a second Open
// without recovery sees the same bytes, and an append after it reads back after another Open.
// The file lives in a temporary directory for the whole run.

#include <fcntl.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>

#include "storage/encryption/local_key_file.h"
#include "storage/encryption/segment_format.h"
#include "storage/log/encrypted_log.h"
#include "tests/fuzz/encrypted_segment_fuzz_key.h"
#include "tests/fuzz/fuzz_check.h"

namespace {

using namespace sluice;
using namespace sluice::storage;
namespace F = sluice::storage::encrypted_segment;

std::filesystem::path directory;
std::shared_ptr<LocalKeyFile> keys;

void RemoveDirectory() {
  std::error_code ignored;
  std::filesystem::remove_all(directory, ignored);
}

std::shared_ptr<File> WriteInput(std::string_view input) {
  const std::filesystem::path path = directory / "00000000000000000000.log";
  { std::ofstream(path, std::ios::binary | std::ios::trunc).write(input.data(), static_cast<std::streamsize>(input.size())); }
  auto file = File::Open(path, O_RDWR);
  if (!file.ok()) std::abort();
  return *file;
}

bool ExpectedFailure(const absl::Status& status) {
  return status.code() == absl::StatusCode::kDataLoss || status.code() == absl::StatusCode::kFailedPrecondition;
}

std::string ReadAll(const EncryptedLog& log, const File& file) {
  std::string out(static_cast<size_t>(log.size()), '\0');
  absl::Status status = log.Read(file, out.data(), out.size(), 0);
  SLUICE_FUZZ_CHECK(status.ok());
  return out;
}

void CheckDecoders(std::string_view input) {
  for (int64_t at = 0; at + F::kSlotBytes <= static_cast<int64_t>(input.size()) && at < F::kHeaderBytes;
       at += F::kSlotBytes) {
    std::string_view bytes = input.substr(static_cast<size_t>(at), F::kSlotBytes);
    if (auto slot = F::DecodeSlot(bytes)) {
      auto encoded = F::EncodeSlot(*slot);
      SLUICE_FUZZ_CHECK(encoded.ok());
      SLUICE_FUZZ_CHECK(F::DecodeSlot(*encoded).has_value());
      SLUICE_FUZZ_CHECK(F::DecodeSlot(*encoded)->key_id == slot->key_id);
    }
  }
  for (size_t at = F::kHeaderBytes; at + F::kChunkHeaderBytes <= input.size(); at += 997) {
    std::string_view bytes = input.substr(at, F::kChunkHeaderBytes);
    auto header = F::DecodeChunkHeader(bytes);
    if (!header.ok()) {
      SLUICE_FUZZ_CHECK(header.status().code() == absl::StatusCode::kDataLoss);
      continue;
    }
    char again[F::kChunkHeaderBytes];
    F::EncodeChunkHeader(*header, again);
    SLUICE_FUZZ_CHECK(std::string_view(again, sizeof(again)) == bytes);
  }
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  std::string pattern = (std::filesystem::temp_directory_path() / "sluice-fuzz-encrypted-XXXXXX").string();
  if (::mkdtemp(pattern.data()) == nullptr) std::abort();
  directory = pattern;
  std::atexit(RemoveDirectory);
  auto loaded = LocalKeyFile::Parse(fuzz::kEncryptedSegmentFuzzKeys, "fuzz keys");
  if (!loaded.ok()) std::abort();
  keys = *loaded;
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view input = fuzz::AsBytes(data, size);
  CheckDecoders(input);

  {
    auto file = WriteInput(input);
    auto log = EncryptedLog::Open(*file, *keys, /*recover=*/false);
    if (!log.ok()) {
      SLUICE_FUZZ_CHECK(ExpectedFailure(log.status()));
    } else {
      // Without recovery tags are checked on read only: a read fails cleanly or succeeds.
      std::string out(static_cast<size_t>((*log)->size()), '\0');
      absl::Status status = (*log)->Read(*file, out.data(), out.size(), 0);
      SLUICE_FUZZ_CHECK(status.ok() || status.code() == absl::StatusCode::kDataLoss);
    }
  }

  auto file = WriteInput(input);
  auto recovered = EncryptedLog::Open(*file, *keys, /*recover=*/true);
  if (!recovered.ok()) {
    SLUICE_FUZZ_CHECK(ExpectedFailure(recovered.status()));
    return 0;
  }
  const std::string contents = ReadAll(**recovered, *file);
  auto reopened = EncryptedLog::Open(*file, *keys, /*recover=*/false);
  SLUICE_FUZZ_CHECK(reopened.ok());
  SLUICE_FUZZ_CHECK(ReadAll(**reopened, *file) == contents);
  SLUICE_FUZZ_CHECK((*reopened)->Append(*file, "appended").ok());
  auto after = EncryptedLog::Open(*file, *keys, /*recover=*/true);
  SLUICE_FUZZ_CHECK(after.ok());
  SLUICE_FUZZ_CHECK(ReadAll(**after, *file) == contents + "appended");
  return 0;
}
