#include "storage/log/encrypted_log.h"

#include <algorithm>
#include <cstring>

#include "absl/strings/str_cat.h"
#include "common/absl_compat.h"
#include "common/log.h"
#include "common/status_macros.h"

namespace sluice::storage {
namespace {

namespace F = encrypted_segment;

absl::StatusOr<std::optional<F::CurrentSlot>> ReadHeader(const File& file, int64_t file_size) {
  if (file_size < F::kHeaderBytes) return std::optional<F::CurrentSlot>();
  std::string header(F::kHeaderBytes, '\0');
  SLUICE_RETURN_IF_ERROR(file.ReadExact(header.data(), header.size(), 0));
  return F::DecodeHeader(header);
}

absl::StatusOr<SecretKey> UnwrapFor(const File& file, const KeyProvider& keys, const F::HeaderSlot& slot) {
  auto key = keys.Unwrap(slot.key_id, slot.wrapped, F::WrapContext(slot));
  if (!key.ok()) {
    return absl::FailedPreconditionError(absl::StrCat("encrypted segment ", file.path().string(),
                                                      ": cannot unwrap its data key with master key id '",
                                                      slot.key_id, "': ", key.status().message()));
  }
  return key;
}

}  // namespace

absl::StatusOr<std::unique_ptr<EncryptedLog>> EncryptedLog::Create(const File& file, const KeyProvider& keys) {
  F::HeaderSlot slot;
  slot.sequence = 1;
  slot.segment_id.resize(F::kSegmentIdBytes);
  SLUICE_RETURN_IF_ERROR(RandomBytes(std::span<char>(slot.segment_id.data(), slot.segment_id.size())));
  slot.key_id = keys.active_key_id();
  SecretKey data_key;
  SLUICE_RETURN_IF_ERROR(SecretKey::Generate(data_key));
  SLUICE_ASSIGN_OR_RETURN(slot.wrapped, keys.Wrap(slot.key_id, data_key, F::WrapContext(slot)));
  SLUICE_ASSIGN_OR_RETURN(std::string encoded, F::EncodeSlot(slot));
  // Both slots hold the header, so that either one can be overwritten by the next update.
  std::string header = encoded + encoded;
  SLUICE_RETURN_IF_ERROR(file.WriteAll(header.data(), header.size(), 0));
  return std::unique_ptr<EncryptedLog>(new EncryptedLog(std::move(slot), 0, data_key));
}

absl::StatusOr<std::unique_ptr<EncryptedLog>> EncryptedLog::Open(const File& file, const KeyProvider& keys,
                                                                 bool recover) {
  SLUICE_ASSIGN_OR_RETURN(int64_t file_size, file.Size());
  SLUICE_ASSIGN_OR_RETURN(std::optional<F::CurrentSlot> current, ReadHeader(file, file_size));
  if (!current) {
    if (!recover) {
      return absl::DataLossError(absl::StrCat("encrypted segment ", file.path().string(), " has no readable header"));
    }
    // The header is written when the segment is created and synced with its first flush: one
    // that never became whole belongs to a segment that was never flushed, like a torn tail.
    log::Warn("encrypted segment {} has no whole header after a crash: emptying it ({} bytes)", file.path().string(),
              file_size);
    SLUICE_RETURN_IF_ERROR(file.Truncate(0));
    SLUICE_ASSIGN_OR_RETURN(std::unique_ptr<EncryptedLog> fresh, Create(file, keys));
    SLUICE_RETURN_IF_ERROR(file.Sync());
    fresh->dropped_torn_tail_ = file_size > 0;
    return fresh;
  }
  SLUICE_ASSIGN_OR_RETURN(SecretKey data_key, UnwrapFor(file, keys, current->slot));
  std::unique_ptr<EncryptedLog> log(new EncryptedLog(std::move(current->slot), current->index, data_key));
  SLUICE_RETURN_IF_ERROR(log->LoadChunks(file, file_size, recover));
  return log;
}

absl::Status EncryptedLog::LoadChunks(const File& file, int64_t file_size, bool authenticate) {
  int64_t position = F::kHeaderBytes;
  std::string problem;
  std::string buffer;
  bool trim_found = false;
  while (position < file_size) {
    if (file_size - position < F::kChunkOverheadBytes) {
      problem = "a torn chunk header";
      break;
    }
    char raw[F::kChunkHeaderBytes];
    SLUICE_RETURN_IF_ERROR(file.ReadExact(raw, sizeof(raw), position));
    auto header = F::DecodeChunkHeader(std::string_view(raw, sizeof(raw)));
    if (!header.ok()) {
      problem = std::string(ToStd(header.status().message()));
      break;
    }
    Chunk chunk{.logical_start = header->logical_start,
                .physical_start = position,
                .length = header->plaintext_length,
                .visible = header->plaintext_length};
    if (chunk.physical_end() > file_size) {
      problem = "a torn chunk";
      break;
    }
    // A chunk continues the visible log: it starts at the end of the previous one, or inside it
    // when that one was truncated and the log appended to again.
    if (chunks_.empty() ? chunk.logical_start != 0
                        : chunk.logical_start <= chunks_.back().logical_start ||
                              chunk.logical_start > chunks_.back().logical_end()) {
      problem = absl::StrCat("a chunk at logical ", chunk.logical_start, " that does not continue the log");
      break;
    }
    if (slot_.trim_physical == position) {
      const int64_t visible = slot_.trim_logical - chunk.logical_start;
      if (visible <= 0 || visible > chunk.length) {
        return absl::DataLossError(absl::StrCat("encrypted segment ", file.path().string(), ": header trims the chunk at ",
                                                position, " to ", slot_.trim_logical, ", outside it"));
      }
      chunk.visible = static_cast<uint32_t>(visible);
      trim_found = true;
    }
    if (authenticate) {
      buffer.resize(chunk.length);
      if (!DecryptChunk(file, chunk, buffer.data()).ok()) {
        problem = "a chunk that does not authenticate";
        break;
      }
    }
    if (!chunks_.empty() && chunk.logical_start < chunks_.back().logical_end()) {
      chunks_.back().visible = static_cast<uint32_t>(chunk.logical_start - chunks_.back().logical_start);
    }
    chunks_.push_back(chunk);
    position = chunk.physical_end();
  }
  if (position < file_size) {
    log::Warn("truncating encrypted segment {} from {} to {} bytes: {}", file.path().string(), file_size, position,
              problem);
    SLUICE_RETURN_IF_ERROR(file.Truncate(position));
    SLUICE_RETURN_IF_ERROR(file.Sync());
    dropped_torn_tail_ = true;
  }
  physical_end_ = position;
  logical_end_ = chunks_.empty() ? 0 : chunks_.back().logical_end();
  if (slot_.trim_physical != -1 && !trim_found) {
    // The trimmed chunk is gone (cut off above): forget it before a new chunk lands there.
    F::HeaderSlot slot = slot_;
    slot.trim_physical = chunks_.empty() ? -1 : chunks_.back().physical_start;
    slot.trim_logical = chunks_.empty() ? -1 : chunks_.back().logical_end();
    SLUICE_RETURN_IF_ERROR(WriteSlot(file, std::move(slot)));
  }
  return absl::OkStatus();
}

absl::StatusOr<std::optional<std::string>> EncryptedLog::ReadKeyId(const File& file) {
  SLUICE_ASSIGN_OR_RETURN(int64_t file_size, file.Size());
  SLUICE_ASSIGN_OR_RETURN(std::optional<F::CurrentSlot> current, ReadHeader(file, file_size));
  if (!current) return std::optional<std::string>();
  return std::optional<std::string>(current->slot.key_id);
}

absl::StatusOr<bool> EncryptedLog::CheckAndRewrap(const File& file, const KeyProvider& keys) {
  SLUICE_ASSIGN_OR_RETURN(int64_t file_size, file.Size());
  SLUICE_ASSIGN_OR_RETURN(std::optional<F::CurrentSlot> current, ReadHeader(file, file_size));
  if (!current) return false;
  SLUICE_ASSIGN_OR_RETURN(SecretKey data_key, UnwrapFor(file, keys, current->slot));
  const std::string active = keys.active_key_id();
  if (current->slot.key_id == active) return false;
  EncryptedLog log(current->slot, current->index, data_key);
  F::HeaderSlot slot = current->slot;
  slot.key_id = active;
  SLUICE_ASSIGN_OR_RETURN(slot.wrapped, keys.Wrap(active, data_key, F::WrapContext(slot)));
  SLUICE_RETURN_IF_ERROR(log.WriteSlot(file, std::move(slot)));
  return true;
}

absl::Status EncryptedLog::WriteSlot(const File& file, encrypted_segment::HeaderSlot slot) {
  slot.sequence = slot_.sequence + 1;
  SLUICE_ASSIGN_OR_RETURN(std::string encoded, F::EncodeSlot(slot));
  const int other = 1 - slot_index_;
  SLUICE_RETURN_IF_ERROR(file.WriteAll(encoded.data(), encoded.size(), other * F::kSlotBytes));
  SLUICE_RETURN_IF_ERROR(file.Sync());
  slot_ = std::move(slot);
  slot_index_ = other;
  return absl::OkStatus();
}

int64_t EncryptedLog::size() const {
  std::shared_lock lock(mutex_);
  return logical_end_;
}

absl::Status EncryptedLog::Append(const File& file, std::string_view data) {
  std::unique_lock lock(mutex_);
  const size_t pieces = (data.size() + F::kMaxChunkPlaintext - 1) / F::kMaxChunkPlaintext;
  std::string out(data.size() + pieces * F::kChunkOverheadBytes, '\0');
  std::vector<Chunk> added;
  added.reserve(pieces);
  int64_t logical = logical_end_;
  int64_t physical = physical_end_;
  char* cursor = out.data();
  for (size_t offset = 0; offset < data.size(); offset += F::kMaxChunkPlaintext) {
    std::string_view piece = data.substr(offset, F::kMaxChunkPlaintext);
    F::ChunkHeader header{.plaintext_length = static_cast<uint32_t>(piece.size()), .logical_start = logical,
                          .nonce = std::string(kGcmNonceBytes, '\0')};
    SLUICE_RETURN_IF_ERROR(RandomBytes(std::span<char>(header.nonce.data(), header.nonce.size())));
    F::EncodeChunkHeader(header, cursor);
    std::string_view encoded_header(cursor, F::kChunkHeaderBytes);
    SLUICE_RETURN_IF_ERROR(GcmSeal(data_key_, header.nonce, F::ChunkAad(segment_id_, encoded_header), piece,
                                   cursor + F::kChunkHeaderBytes, cursor + F::kChunkHeaderBytes + piece.size()));
    added.push_back(Chunk{.logical_start = logical, .physical_start = physical,
                          .length = header.plaintext_length, .visible = header.plaintext_length});
    cursor += F::kChunkOverheadBytes + static_cast<int64_t>(piece.size());
    logical += static_cast<int64_t>(piece.size());
    physical += F::kChunkOverheadBytes + static_cast<int64_t>(piece.size());
  }
  if (absl::Status status = file.WriteAll(out.data(), out.size(), physical_end_); !status.ok()) {
    (void)file.Truncate(physical_end_);  // the file keeps ending on a chunk boundary
    return status;
  }
  chunks_.insert(chunks_.end(), added.begin(), added.end());
  physical_end_ = physical;
  logical_end_ = logical;
  return absl::OkStatus();
}

absl::Status EncryptedLog::DecryptChunk(const File& file, const Chunk& chunk, char* out) const {
  const auto size = static_cast<size_t>(F::kChunkOverheadBytes + chunk.length);
  std::unique_ptr<char[]> raw = std::make_unique_for_overwrite<char[]>(size);
  SLUICE_RETURN_IF_ERROR(file.ReadExact(raw.get(), size, chunk.physical_start));
  std::string_view view(raw.get(), size);
  std::string_view encoded_header = view.substr(0, F::kChunkHeaderBytes);
  auto header = F::DecodeChunkHeader(encoded_header);
  if (!header.ok() || header->plaintext_length != chunk.length || header->logical_start != chunk.logical_start) {
    return absl::DataLossError(absl::StrCat("chunk at ", chunk.physical_start, " of ", file.path().string(),
                                            " changed under the reader"));
  }
  absl::Status status = GcmOpen(data_key_, header->nonce, F::ChunkAad(segment_id_, encoded_header),
                                view.substr(F::kChunkHeaderBytes, chunk.length),
                                view.substr(F::kChunkHeaderBytes + chunk.length), out);
  if (!status.ok()) {
    return absl::DataLossError(absl::StrCat("chunk at ", chunk.physical_start, " of ", file.path().string(),
                                            " does not authenticate"));
  }
  return absl::OkStatus();
}

absl::StatusOr<std::shared_ptr<const std::string>> EncryptedLog::CachedPlaintext(const File& file, const Chunk& chunk,
                                                                                  uint64_t generation) const {
  {
    std::lock_guard lock(cache_mutex_);
    if (cached_plaintext_ && cached_physical_ == chunk.physical_start && cached_generation_ == generation) {
      return cached_plaintext_;
    }
  }
  auto plaintext = std::make_shared<std::string>(chunk.length, '\0');
  SLUICE_RETURN_IF_ERROR(DecryptChunk(file, chunk, plaintext->data()));
  std::lock_guard lock(cache_mutex_);
  cached_plaintext_ = plaintext;
  cached_physical_ = chunk.physical_start;
  cached_generation_ = generation;
  return std::shared_ptr<const std::string>(std::move(plaintext));
}

absl::Status EncryptedLog::Read(const File& file, char* out, size_t size, int64_t position) const {
  std::vector<Chunk> needed;
  uint64_t generation;
  {
    std::shared_lock lock(mutex_);
    if (position < 0 || position + static_cast<int64_t>(size) > logical_end_) {
      return absl::DataLossError(absl::StrCat("unexpected end of ", file.path().string(), " at ", position));
    }
    if (size == 0) return absl::OkStatus();
    auto it = std::upper_bound(chunks_.begin(), chunks_.end(), position,
                               [](int64_t p, const Chunk& c) { return p < c.logical_start; });
    for (--it; it != chunks_.end() && it->logical_start < position + static_cast<int64_t>(size); ++it) {
      needed.push_back(*it);
    }
    generation = generation_;
  }
  const int64_t end = position + static_cast<int64_t>(size);
  for (const Chunk& chunk : needed) {
    const int64_t from = std::max(position, chunk.logical_start);
    const int64_t to = std::min(end, chunk.logical_end());
    char* target = out + (from - position);
    if (from == chunk.logical_start && to == chunk.logical_start + chunk.length) {
      // The whole chunk is wanted: decrypt in place, no cache, no copy.
      SLUICE_RETURN_IF_ERROR(DecryptChunk(file, chunk, target));
      continue;
    }
    SLUICE_ASSIGN_OR_RETURN(std::shared_ptr<const std::string> plaintext, CachedPlaintext(file, chunk, generation));
    std::memcpy(target, plaintext->data() + (from - chunk.logical_start), static_cast<size_t>(to - from));
  }
  return absl::OkStatus();
}

absl::Status EncryptedLog::Truncate(const File& file, int64_t logical_size) {
  std::unique_lock lock(mutex_);
  if (logical_size >= logical_end_) return absl::OkStatus();
  auto it = std::upper_bound(chunks_.begin(), chunks_.end(), logical_size,
                             [](int64_t p, const Chunk& c) { return p < c.logical_start; });
  std::vector<Chunk> kept(chunks_.begin(), it);
  if (!kept.empty() && kept.back().logical_start == logical_size) kept.pop_back();
  if (!kept.empty()) kept.back().visible = static_cast<uint32_t>(logical_size - kept.back().logical_start);
  const int64_t cut = kept.empty() ? F::kHeaderBytes : kept.back().physical_end();
  // Data first, then the header that says how much of the (now) last chunk is visible. A crash
  // between the two leaves that chunk whole: the truncation is undone, never data lost.
  SLUICE_RETURN_IF_ERROR(file.Truncate(cut));
  SLUICE_RETURN_IF_ERROR(file.Sync());
  F::HeaderSlot slot = slot_;
  slot.trim_physical = kept.empty() ? -1 : kept.back().physical_start;
  slot.trim_logical = kept.empty() ? -1 : kept.back().logical_end();
  SLUICE_RETURN_IF_ERROR(WriteSlot(file, std::move(slot)));
  chunks_ = std::move(kept);
  physical_end_ = cut;
  logical_end_ = logical_size;
  ++generation_;
  return absl::OkStatus();
}

}  // namespace sluice::storage
