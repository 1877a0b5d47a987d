#include "protocol/kafka/batch/compression.h"

#include <algorithm>
#include <cstring>
#include <memory>

#include <lz4frame.h>
#include <snappy.h>
#include <zlib.h>
#include <zstd.h>

#include "absl/strings/str_cat.h"
#include "protocol/kafka/batch/byte_order.h"

namespace sluice::kafka {
namespace {

absl::Status TooLarge(size_t limit) {
  return absl::OutOfRangeError(absl::StrCat("decompressed records exceed the limit of ", limit, " bytes"));
}

// Output grows geometrically up to the limit so small payloads do not allocate the whole bound.
size_t NextChunk(const std::string& out, size_t limit) {
  size_t want = std::max<size_t>(out.size(), 64 * 1024);
  return std::min(want, limit - out.size());
}

// ---- gzip ----

absl::StatusOr<std::string> GzipCompress(std::string_view input) {
  z_stream zs{};
  if (deflateInit2(&zs, Z_DEFAULT_COMPRESSION, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK) {
    return absl::InternalError("deflateInit2 failed");
  }
  std::string out(deflateBound(&zs, input.size()) + 32, '\0');
  zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(input.data()));
  zs.avail_in = static_cast<uInt>(input.size());
  zs.next_out = reinterpret_cast<Bytef*>(out.data());
  zs.avail_out = static_cast<uInt>(out.size());
  int rc = deflate(&zs, Z_FINISH);
  size_t produced = zs.total_out;
  deflateEnd(&zs);
  if (rc != Z_STREAM_END) return absl::InternalError("gzip compression did not finish");
  out.resize(produced);
  return out;
}

absl::StatusOr<std::string> GzipDecompress(std::string_view input, size_t limit) {
  z_stream zs{};
  if (inflateInit2(&zs, 15 + 32) != Z_OK) return absl::InternalError("inflateInit2 failed");
  std::unique_ptr<z_stream, int (*)(z_stream*)> guard(&zs, inflateEnd);
  std::string out;
  zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(input.data()));
  zs.avail_in = static_cast<uInt>(input.size());
  while (true) {
    // Once the bound is reached, a one-byte probe tells a finished stream from an oversized one.
    char probe;
    bool full = out.size() == limit;
    size_t old = out.size();
    size_t chunk = full ? 1 : NextChunk(out, limit);
    if (!full) out.resize(old + chunk);
    zs.next_out = reinterpret_cast<Bytef*>(full ? &probe : out.data() + old);
    zs.avail_out = static_cast<uInt>(chunk);
    int rc = inflate(&zs, Z_NO_FLUSH);
    size_t produced = chunk - zs.avail_out;
    if (full && produced > 0) return TooLarge(limit);
    if (!full) out.resize(old + produced);
    if (rc == Z_STREAM_END) {
      if (zs.avail_in == 0) return out;
      inflateReset(&zs);  // concatenated gzip members
      continue;
    }
    if (rc == Z_OK) continue;
    if (rc == Z_BUF_ERROR && zs.avail_in == 0) return absl::DataLossError("truncated gzip data");
    return absl::DataLossError("corrupt gzip data");
  }
}

// ---- snappy ----

constexpr char kXerialMagic[8] = {static_cast<char>(0x82), 'S', 'N', 'A', 'P', 'P', 'Y', 0};
constexpr size_t kXerialHeaderSize = 16;  // magic + version int32 + compatible version int32

absl::Status SnappyRawAppend(std::string_view block, size_t limit, std::string& out) {
  size_t length = 0;
  if (!snappy::GetUncompressedLength(block.data(), block.size(), &length)) {
    return absl::DataLossError("corrupt snappy data");
  }
  if (length > limit - out.size()) return TooLarge(limit);
  size_t old = out.size();
  out.resize(old + length);
  if (!snappy::RawUncompress(block.data(), block.size(), out.data() + old)) {
    return absl::DataLossError("corrupt snappy data");
  }
  return absl::OkStatus();
}

absl::StatusOr<std::string> SnappyDecompress(std::string_view input, size_t limit) {
  std::string out;
  if (input.size() >= sizeof(kXerialMagic) && std::memcmp(input.data(), kXerialMagic, sizeof(kXerialMagic)) == 0) {
    if (input.size() < kXerialHeaderSize) return absl::DataLossError("truncated xerial snappy header");
    size_t pos = kXerialHeaderSize;
    while (pos < input.size()) {
      if (input.size() - pos < 4) return absl::DataLossError("truncated xerial snappy block length");
      uint32_t block_size = batch_internal::LoadBigEndian<uint32_t>(input.data() + pos);
      pos += 4;
      if (block_size > input.size() - pos) return absl::DataLossError("truncated xerial snappy block");
      auto status = SnappyRawAppend(input.substr(pos, block_size), limit, out);
      if (!status.ok()) return status;
      pos += block_size;
    }
    return out;
  }
  auto status = SnappyRawAppend(input, limit, out);
  if (!status.ok()) return status;
  return out;
}

// ---- lz4 ----

absl::StatusOr<std::string> Lz4Compress(std::string_view input) {
  LZ4F_preferences_t prefs{};
  // Independent 64 KB blocks without content checksum: what every Kafka client can read.
  prefs.frameInfo.blockSizeID = LZ4F_max64KB;
  prefs.frameInfo.blockMode = LZ4F_blockIndependent;
  std::string out(LZ4F_compressFrameBound(input.size(), &prefs), '\0');
  size_t n = LZ4F_compressFrame(out.data(), out.size(), input.data(), input.size(), &prefs);
  if (LZ4F_isError(n)) return absl::InternalError(absl::StrCat("lz4 compression failed: ", LZ4F_getErrorName(n)));
  out.resize(n);
  return out;
}

absl::StatusOr<std::string> Lz4Decompress(std::string_view input, size_t limit) {
  LZ4F_dctx* raw_ctx = nullptr;
  if (LZ4F_isError(LZ4F_createDecompressionContext(&raw_ctx, LZ4F_VERSION))) {
    return absl::InternalError("lz4 context creation failed");
  }
  std::unique_ptr<LZ4F_dctx, decltype(&LZ4F_freeDecompressionContext)> ctx(raw_ctx, LZ4F_freeDecompressionContext);
  std::string out;
  const char* in = input.data();
  size_t in_left = input.size();
  size_t hint = 1;
  while (in_left > 0) {
    char probe;
    char* dst;
    size_t dst_size;
    size_t old = out.size();
    if (out.size() == limit) {
      dst = &probe;
      dst_size = 1;
    } else {
      size_t chunk = NextChunk(out, limit);
      out.resize(old + chunk);
      dst = out.data() + old;
      dst_size = chunk;
    }
    size_t src_size = in_left;
    hint = LZ4F_decompress(ctx.get(), dst, &dst_size, in, &src_size, nullptr);
    if (LZ4F_isError(hint)) return absl::DataLossError(absl::StrCat("corrupt lz4 data: ", LZ4F_getErrorName(hint)));
    if (dst == &probe) {
      if (dst_size > 0) return TooLarge(limit);
    } else {
      out.resize(old + dst_size);
    }
    in += src_size;
    in_left -= src_size;
    if (hint == 0 && in_left > 0) {
      // Frame finished but bytes remain: Kafka never concatenates frames, reject the trailer.
      return absl::DataLossError("trailing bytes after lz4 frame");
    }
    if (src_size == 0 && dst_size == 0) return absl::DataLossError("lz4 decoder made no progress");
  }
  // Drain output the decoder still holds after consuming all input.
  while (hint != 0) {
    char probe;
    size_t old = out.size();
    bool full = out.size() == limit;
    size_t dst_size = full ? 1 : NextChunk(out, limit);
    if (!full) out.resize(old + dst_size);
    size_t src_size = 0;
    hint = LZ4F_decompress(ctx.get(), full ? &probe : out.data() + old, &dst_size, in, &src_size, nullptr);
    if (LZ4F_isError(hint)) return absl::DataLossError(absl::StrCat("corrupt lz4 data: ", LZ4F_getErrorName(hint)));
    if (full && dst_size > 0) return TooLarge(limit);
    if (!full) out.resize(old + dst_size);
    if (dst_size == 0 && hint != 0) return absl::DataLossError("truncated lz4 frame");
  }
  return out;
}

// ---- zstd ----

absl::StatusOr<std::string> ZstdCompress(std::string_view input) {
  std::string out(ZSTD_compressBound(input.size()), '\0');
  size_t n = ZSTD_compress(out.data(), out.size(), input.data(), input.size(), 3);
  if (ZSTD_isError(n)) return absl::InternalError(absl::StrCat("zstd compression failed: ", ZSTD_getErrorName(n)));
  out.resize(n);
  return out;
}

absl::StatusOr<std::string> ZstdDecompress(std::string_view input, size_t limit) {
  std::unique_ptr<ZSTD_DStream, decltype(&ZSTD_freeDStream)> stream(ZSTD_createDStream(), ZSTD_freeDStream);
  if (!stream) return absl::InternalError("zstd context creation failed");
  ZSTD_initDStream(stream.get());
  std::string out;
  ZSTD_inBuffer in{input.data(), input.size(), 0};
  size_t hint = 1;
  while (true) {
    char probe;
    bool full = out.size() == limit;
    size_t old = out.size();
    size_t chunk = full ? 1 : NextChunk(out, limit);
    if (!full) out.resize(old + chunk);
    ZSTD_outBuffer dst{full ? &probe : out.data() + old, chunk, 0};
    hint = ZSTD_decompressStream(stream.get(), &dst, &in);
    if (ZSTD_isError(hint)) return absl::DataLossError(absl::StrCat("corrupt zstd data: ", ZSTD_getErrorName(hint)));
    if (full && dst.pos > 0) return TooLarge(limit);
    if (!full) out.resize(old + dst.pos);
    if (hint == 0 && in.pos == in.size) return out;  // frame(s) complete
    if (in.pos == in.size && dst.pos == 0) {
      return absl::DataLossError("truncated zstd data");
    }
  }
}

}  // namespace

absl::StatusOr<std::string> Compress(Compression codec, std::string_view input) {
  switch (codec) {
    case Compression::kNone:
      return std::string(input);
    case Compression::kGzip:
      return GzipCompress(input);
    case Compression::kSnappy: {
      std::string out;
      snappy::Compress(input.data(), input.size(), &out);
      return out;
    }
    case Compression::kLz4:
      return Lz4Compress(input);
    case Compression::kZstd:
      return ZstdCompress(input);
  }
  return absl::UnimplementedError(absl::StrCat("unknown compression codec ", static_cast<int>(codec)));
}

absl::StatusOr<std::string> Decompress(Compression codec, std::string_view input, size_t max_output_bytes) {
  switch (codec) {
    case Compression::kNone:
      if (input.size() > max_output_bytes) return TooLarge(max_output_bytes);
      return std::string(input);
    case Compression::kGzip:
      return GzipDecompress(input, max_output_bytes);
    case Compression::kSnappy:
      return SnappyDecompress(input, max_output_bytes);
    case Compression::kLz4:
      return Lz4Decompress(input, max_output_bytes);
    case Compression::kZstd:
      return ZstdDecompress(input, max_output_bytes);
  }
  return absl::UnimplementedError(absl::StrCat("unknown compression codec ", static_cast<int>(codec)));
}

}  // namespace sluice::kafka
