#include "storage/encryption/segment_format.h"

#include <cstring>

#include "absl/strings/str_cat.h"
#include "protocol/kafka/batch/crc32c.h"

namespace sluice::storage::encrypted_segment {
namespace {

constexpr size_t kCrcOffset = kSlotBytes - 4;

void PutU64(std::string& out, size_t at, uint64_t value) {
  for (int i = 7; i >= 0; --i, value >>= 8) out[at + static_cast<size_t>(i)] = static_cast<char>(value & 0xff);
}
void PutU32(char* out, uint32_t value) {
  for (int i = 3; i >= 0; --i, value >>= 8) out[i] = static_cast<char>(value & 0xff);
}
uint64_t GetU64(std::string_view in, size_t at) {
  uint64_t value = 0;
  for (size_t i = 0; i < 8; ++i) value = (value << 8) | static_cast<unsigned char>(in[at + i]);
  return value;
}
uint32_t GetU32(std::string_view in, size_t at) {
  uint32_t value = 0;
  for (size_t i = 0; i < 4; ++i) value = (value << 8) | static_cast<unsigned char>(in[at + i]);
  return value;
}

// Field offsets within a slot.
constexpr size_t kVersionAt = 8;
constexpr size_t kSequenceAt = 12;
constexpr size_t kSegmentIdAt = 20;
constexpr size_t kTrimPhysicalAt = kSegmentIdAt + kSegmentIdBytes;
constexpr size_t kTrimLogicalAt = kTrimPhysicalAt + 8;
constexpr size_t kKeyIdLengthAt = kTrimLogicalAt + 8;
constexpr size_t kKeyIdAt = kKeyIdLengthAt + 1;
constexpr size_t kWrappedLengthAt = kKeyIdAt + kMaxKeyIdBytes;
constexpr size_t kWrappedAt = kWrappedLengthAt + 2;
static_assert(kWrappedAt + kMaxWrappedKeyBytes <= kCrcOffset);

}  // namespace

absl::StatusOr<std::string> EncodeSlot(const HeaderSlot& slot) {
  if (slot.segment_id.size() != kSegmentIdBytes || slot.key_id.empty() || slot.key_id.size() > kMaxKeyIdBytes ||
      slot.wrapped.empty() || slot.wrapped.size() > kMaxWrappedKeyBytes) {
    return absl::InvalidArgumentError("encrypted segment header field out of range");
  }
  std::string out(kSlotBytes, '\0');
  std::memcpy(out.data(), kMagic.data(), kMagic.size());
  PutU32(out.data() + kVersionAt, kVersion);
  PutU64(out, kSequenceAt, slot.sequence);
  std::memcpy(out.data() + kSegmentIdAt, slot.segment_id.data(), kSegmentIdBytes);
  PutU64(out, kTrimPhysicalAt, static_cast<uint64_t>(slot.trim_physical));
  PutU64(out, kTrimLogicalAt, static_cast<uint64_t>(slot.trim_logical));
  out[kKeyIdLengthAt] = static_cast<char>(slot.key_id.size());
  std::memcpy(out.data() + kKeyIdAt, slot.key_id.data(), slot.key_id.size());
  out[kWrappedLengthAt] = static_cast<char>(slot.wrapped.size() >> 8);
  out[kWrappedLengthAt + 1] = static_cast<char>(slot.wrapped.size() & 0xff);
  std::memcpy(out.data() + kWrappedAt, slot.wrapped.data(), slot.wrapped.size());
  PutU32(out.data() + kCrcOffset, kafka::Crc32c(std::string_view(out).substr(0, kCrcOffset)));
  return out;
}

std::optional<HeaderSlot> DecodeSlot(std::string_view bytes) {
  if (bytes.size() != static_cast<size_t>(kSlotBytes) || !bytes.starts_with(kMagic)) return std::nullopt;
  if (GetU32(bytes, kCrcOffset) != kafka::Crc32c(bytes.substr(0, kCrcOffset))) return std::nullopt;
  if (GetU32(bytes, kVersionAt) != kVersion) return std::nullopt;
  HeaderSlot slot;
  slot.sequence = GetU64(bytes, kSequenceAt);
  slot.segment_id = std::string(bytes.substr(kSegmentIdAt, kSegmentIdBytes));
  slot.trim_physical = static_cast<int64_t>(GetU64(bytes, kTrimPhysicalAt));
  slot.trim_logical = static_cast<int64_t>(GetU64(bytes, kTrimLogicalAt));
  const size_t key_id_length = static_cast<unsigned char>(bytes[kKeyIdLengthAt]);
  const size_t wrapped_length = (static_cast<size_t>(static_cast<unsigned char>(bytes[kWrappedLengthAt])) << 8) |
                                static_cast<unsigned char>(bytes[kWrappedLengthAt + 1]);
  if (key_id_length == 0 || key_id_length > kMaxKeyIdBytes || wrapped_length == 0 ||
      wrapped_length > kMaxWrappedKeyBytes) {
    return std::nullopt;
  }
  // -1 (none) or a chunk position paired with a logical position.
  if ((slot.trim_physical == -1) != (slot.trim_logical == -1)) return std::nullopt;
  if (slot.trim_physical != -1 && (slot.trim_physical < kHeaderBytes || slot.trim_logical < 0)) return std::nullopt;
  slot.key_id = std::string(bytes.substr(kKeyIdAt, key_id_length));
  slot.wrapped = std::string(bytes.substr(kWrappedAt, wrapped_length));
  return slot;
}

std::optional<CurrentSlot> DecodeHeader(std::string_view header) {
  if (header.size() != static_cast<size_t>(kHeaderBytes)) return std::nullopt;
  std::optional<HeaderSlot> first = DecodeSlot(header.substr(0, kSlotBytes));
  std::optional<HeaderSlot> second = DecodeSlot(header.substr(kSlotBytes, kSlotBytes));
  if (first && second && first->segment_id != second->segment_id) return std::nullopt;
  if (first && (!second || first->sequence >= second->sequence)) return CurrentSlot{std::move(*first), 0};
  if (second) return CurrentSlot{std::move(*second), 1};
  return std::nullopt;
}

bool HasMagic(std::string_view prefix) { return !prefix.empty() && prefix.front() == kMagic.front(); }

std::string WrapContext(const HeaderSlot& slot) {
  return absl::StrCat("sluice segment data key v1|", slot.segment_id, "|", slot.key_id);
}

void EncodeChunkHeader(const ChunkHeader& header, char* out) {
  PutU32(out, header.plaintext_length);
  std::string start(8, '\0');
  PutU64(start, 0, static_cast<uint64_t>(header.logical_start));
  std::memcpy(out + 4, start.data(), 8);
  std::memcpy(out + 12, header.nonce.data(), 12);
}

absl::StatusOr<ChunkHeader> DecodeChunkHeader(std::string_view bytes) {
  if (bytes.size() < static_cast<size_t>(kChunkHeaderBytes)) return absl::DataLossError("short chunk header");
  ChunkHeader header;
  header.plaintext_length = GetU32(bytes, 0);
  header.logical_start = static_cast<int64_t>(GetU64(bytes, 4));
  header.nonce = std::string(bytes.substr(12, 12));
  if (header.plaintext_length == 0 || header.plaintext_length > kMaxChunkPlaintext) {
    return absl::DataLossError(absl::StrCat("chunk length ", header.plaintext_length, " out of range"));
  }
  if (header.logical_start < 0) return absl::DataLossError("negative chunk start");
  return header;
}

std::string ChunkAad(std::string_view segment_id, std::string_view encoded_header) {
  std::string aad;
  aad.reserve(segment_id.size() + encoded_header.size());
  aad.append(segment_id);
  aad.append(encoded_header);
  return aad;
}

}  // namespace sluice::storage::encrypted_segment
