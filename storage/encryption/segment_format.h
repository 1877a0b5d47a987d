#pragma once
// The on-disk format of an encrypted segment log (see docs/architecture.md, "Encrypted
// segments"). All integers big-endian.
//
//   [header slot 0: 512 bytes][header slot 1: 512 bytes][chunk][chunk]...
//
// Header slot: magic(8) version(4) sequence(8) segment id(16) trim physical(8) trim logical(8)
//   key id length(1) key id(64) wrapped key length(2) wrapped key(256) zero padding
//   crc32c of bytes [0, 508) (4).
//   The valid slot (magic, version and CRC) with the higher sequence is current; an update
//   writes the other slot, so a torn write leaves the previous one readable. The trim pair says
//   that the chunk starting at physical offset `trim physical` is visible only up to logical
//   position `trim logical` (a truncation inside a chunk); -1 when none.
//
// Chunk: plaintext length(4) logical start(8) nonce(12) ciphertext(length) GCM tag(16).
//   AES-256-GCM under the segment's data key; the AAD is the segment id followed by the 24
//   header bytes, binding the chunk to its segment and logical position. Nonces are random
//   (RAND_bytes): a truncation re-appends at logical positions already used, so positions
//   cannot serve as nonces.
//
// The magic starts with 0xff: a plaintext segment starts with a batch's base offset, which is
// never negative, so the two cannot be confused.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "storage/encryption/key_provider.h"

namespace sluice::storage::encrypted_segment {

inline constexpr std::string_view kMagic = "\xff" "SLUENC1";
inline constexpr uint32_t kVersion = 1;
inline constexpr int64_t kSlotBytes = 512;
inline constexpr int64_t kHeaderBytes = 2 * kSlotBytes;  // where the first chunk starts
inline constexpr size_t kSegmentIdBytes = 16;
inline constexpr int64_t kChunkHeaderBytes = 4 + 8 + 12;
inline constexpr int64_t kChunkOverheadBytes = kChunkHeaderBytes + 16;
// Appends are split into chunks of at most this much plaintext: a read decrypts at most this
// much more than it needs on each side.
inline constexpr int64_t kMaxChunkPlaintext = 64 * 1024;

struct HeaderSlot {
  uint64_t sequence = 0;
  std::string segment_id;  // kSegmentIdBytes random bytes
  int64_t trim_physical = -1;
  int64_t trim_logical = -1;
  std::string key_id;   // 1..kMaxKeyIdBytes
  std::string wrapped;  // 1..kMaxWrappedKeyBytes
};

// kSlotBytes bytes; kInvalidArgument when a field does not fit.
absl::StatusOr<std::string> EncodeSlot(const HeaderSlot& slot);
// nullopt when `bytes` (kSlotBytes of them) is not a valid slot: torn, zeroed or foreign.
std::optional<HeaderSlot> DecodeSlot(std::string_view bytes);
// The current slot of a header (kHeaderBytes bytes) and its index; nullopt when neither is valid.
struct CurrentSlot {
  HeaderSlot slot;
  int index;
};
std::optional<CurrentSlot> DecodeHeader(std::string_view header);
// Whether a file starting with `prefix` is an encrypted segment (or a torn start of one).
bool HasMagic(std::string_view prefix);

// What Unwrap authenticates along with the data key: it ties the wrapped key to its segment.
std::string WrapContext(const HeaderSlot& slot);

struct ChunkHeader {
  uint32_t plaintext_length = 0;
  int64_t logical_start = 0;
  std::string nonce;  // 12 bytes
};
void EncodeChunkHeader(const ChunkHeader& header, char* out);  // kChunkHeaderBytes bytes
// kDataLoss when the length is 0 or above kMaxChunkPlaintext, or the start is negative.
absl::StatusOr<ChunkHeader> DecodeChunkHeader(std::string_view bytes);
// The AAD of a chunk: segment id | the encoded chunk header.
std::string ChunkAad(std::string_view segment_id, std::string_view encoded_header);

}  // namespace sluice::storage::encrypted_segment
