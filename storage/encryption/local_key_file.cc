#include "storage/encryption/local_key_file.h"

#include <fstream>
#include <sstream>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "common/absl_compat.h"
#include "common/status_macros.h"

namespace sluice::storage {
namespace {

constexpr size_t kWrappedBytes = kGcmNonceBytes + kAesKeyBytes + kGcmTagBytes;

bool ValidKeyId(std::string_view id) {
  if (id.empty() || id.size() > kMaxKeyIdBytes) return false;
  for (char c : id) {
    if (!absl::ascii_isalnum(static_cast<unsigned char>(c)) && c != '.' && c != '_' && c != '-') return false;
  }
  return true;
}

int HexDigit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

}  // namespace

absl::StatusOr<std::shared_ptr<LocalKeyFile>> LocalKeyFile::Load(const std::filesystem::path& path) {
  std::ifstream in(path);
  if (!in) return absl::NotFoundError(absl::StrCat("cannot read master key file ", path.string()));
  std::stringstream contents;
  contents << in.rdbuf();
  return Parse(contents.str(), path.string());
}

absl::StatusOr<std::shared_ptr<LocalKeyFile>> LocalKeyFile::Parse(std::string_view contents,
                                                                  std::string_view source) {
  std::shared_ptr<LocalKeyFile> file(new LocalKeyFile());
  file->source_ = std::string(source);
  int line_number = 0;
  for (absl::string_view raw : absl::StrSplit(ToAbsl(contents), '\n')) {
    ++line_number;
    absl::string_view line = absl::StripAsciiWhitespace(raw);
    if (line.empty() || line.front() == '#') continue;
    std::vector<absl::string_view> fields = absl::StrSplit(line, absl::ByAnyChar(" \t"), absl::SkipEmpty());
    auto bad = [&](std::string_view why) {
      return absl::InvalidArgumentError(absl::StrCat("master key file ", ToAbsl(source), " line ", line_number, ": ",
                                                     ToAbsl(why)));
    };
    if (fields.size() != 2) return bad("expected '<key id> <64 hex digits>'");
    std::string id(fields[0]);
    if (!ValidKeyId(id)) return bad("key id must be 1-64 of [A-Za-z0-9._-]");
    if (fields[1].size() != 2 * kAesKeyBytes) return bad("the key must be 64 hex digits (openssl rand -hex 32)");
    SecretKey key;
    for (size_t i = 0; i < kAesKeyBytes; ++i) {
      int high = HexDigit(fields[1][2 * i]);
      int low = HexDigit(fields[1][2 * i + 1]);
      if (high < 0 || low < 0) return bad("the key must be 64 hex digits (openssl rand -hex 32)");
      key.data()[i] = static_cast<unsigned char>(high * 16 + low);
    }
    if (file->keys_.count(id)) return bad(absl::StrCat("key id ", id, " is listed twice"));
    file->keys_.emplace(id, key);
    file->active_ = id;
  }
  if (file->keys_.empty()) {
    return absl::InvalidArgumentError(absl::StrCat("master key file ", ToAbsl(source), " holds no key"));
  }
  return file;
}

absl::StatusOr<const SecretKey*> LocalKeyFile::Find(std::string_view key_id) const {
  auto it = keys_.find(key_id);
  if (it == keys_.end()) {
    return absl::NotFoundError(absl::StrCat("master key id '", ToAbsl(key_id), "' is not in ", source_));
  }
  return &it->second;
}

absl::StatusOr<std::string> LocalKeyFile::Wrap(std::string_view key_id, const SecretKey& data_key,
                                               std::string_view context) const {
  SLUICE_ASSIGN_OR_RETURN(const SecretKey* master, Find(key_id));
  std::string wrapped(kWrappedBytes, '\0');
  SLUICE_RETURN_IF_ERROR(RandomBytes(std::span<char>(wrapped.data(), kGcmNonceBytes)));
  std::string_view plain(reinterpret_cast<const char*>(data_key.data()), data_key.size());
  SLUICE_RETURN_IF_ERROR(GcmSeal(*master, std::string_view(wrapped).substr(0, kGcmNonceBytes), context, plain,
                                 wrapped.data() + kGcmNonceBytes, wrapped.data() + kGcmNonceBytes + kAesKeyBytes));
  return wrapped;
}

absl::StatusOr<SecretKey> LocalKeyFile::Unwrap(std::string_view key_id, std::string_view wrapped,
                                               std::string_view context) const {
  SLUICE_ASSIGN_OR_RETURN(const SecretKey* master, Find(key_id));
  if (wrapped.size() != kWrappedBytes) {
    return absl::DataLossError(absl::StrCat("wrapped data key has ", wrapped.size(), " bytes, expected ", kWrappedBytes));
  }
  SecretKey key;
  absl::Status status = GcmOpen(*master, wrapped.substr(0, kGcmNonceBytes), context,
                                wrapped.substr(kGcmNonceBytes, kAesKeyBytes),
                                wrapped.substr(kGcmNonceBytes + kAesKeyBytes), reinterpret_cast<char*>(key.data()));
  if (!status.ok()) {
    return absl::DataLossError(absl::StrCat("the data key does not unwrap under master key '", ToAbsl(key_id),
                                            "' of ", source_, " (wrong master key?)"));
  }
  return key;
}

}  // namespace sluice::storage
