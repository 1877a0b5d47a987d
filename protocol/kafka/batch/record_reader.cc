#include "protocol/kafka/batch/record_reader.h"

#include <string>

#include "absl/strings/str_cat.h"
#include "common/absl_compat.h"
#include "protocol/kafka/batch/compression.h"
#include "protocol/kafka/batch/record_batch_header.h"
#include "protocol/kafka/batch/varint.h"

namespace sluice::kafka {
namespace {

using batch_internal::ReadVarint;
using batch_internal::ReadVarlong;

absl::Status Malformed(int32_t index, std::string_view what) {
  return absl::DataLossError(absl::StrCat("malformed record ", index, ": ", sluice::ToAbsl(what)));
}

// Reads a nullable byte string (varint length, -1 = null) within [p, end).
bool ReadNullableBytes(const char*& p, const char* end, std::optional<std::string_view>& out) {
  auto length = ReadVarint(p, end);
  if (!length || *length < -1) return false;
  if (*length == -1) {
    out.reset();
    return true;
  }
  if (*length > end - p) return false;
  out = std::string_view(p, static_cast<size_t>(*length));
  p += *length;
  return true;
}

}  // namespace

absl::Status ForEachRecord(std::string_view batch, const RecordCallback& callback, size_t max_decompressed_bytes) {
  auto parsed = ParseBatchHeader(batch);
  if (!parsed.ok()) return parsed.status();
  const RecordBatchHeader& h = *parsed;
  if (h.total_size() > static_cast<int64_t>(batch.size())) {
    return absl::DataLossError(absl::StrCat("truncated record batch: ", h.total_size(), " bytes declared, ",
                                            batch.size(), " present"));
  }
  if (h.records_count < 0) return absl::DataLossError("negative record count");
  std::string_view body = batch.substr(batch_layout::kHeaderSize,
                                       static_cast<size_t>(h.total_size()) - batch_layout::kHeaderSize);
  std::string decompressed;
  if (h.compression() != Compression::kNone) {
    auto out = Decompress(h.compression(), body, max_decompressed_bytes);
    if (!out.ok()) return out.status();
    decompressed = std::move(*out);
    body = decompressed;
  }

  const char* p = body.data();
  const char* const end = body.data() + body.size();
  RecordView record;
  for (int32_t i = 0; i < h.records_count; ++i) {
    auto length = ReadVarint(p, end);
    if (!length || *length < 0 || *length > end - p) return Malformed(i, "bad length");
    const char* record_end = p + *length;
    if (p == record_end) return Malformed(i, "missing attributes");
    ++p;  // record attributes: unused in v2
    auto timestamp_delta = ReadVarlong(p, record_end);
    auto offset_delta = ReadVarint(p, record_end);
    if (!timestamp_delta || !offset_delta) return Malformed(i, "bad timestamp or offset delta");
    record.timestamp_delta = *timestamp_delta;
    record.offset_delta = *offset_delta;
    record.offset = WrappingAdd(h.base_offset, *offset_delta);
    record.timestamp = h.timestamp_type() == TimestampType::kLogAppendTime
                           ? h.max_timestamp
                           : WrappingAdd(h.base_timestamp, *timestamp_delta);
    if (!ReadNullableBytes(p, record_end, record.key)) return Malformed(i, "bad key");
    if (!ReadNullableBytes(p, record_end, record.value)) return Malformed(i, "bad value");
    auto header_count = ReadVarint(p, record_end);
    // Each header takes at least two bytes, which bounds the count before allocating.
    if (!header_count || *header_count < 0 || *header_count > (record_end - p) / 2) {
      return Malformed(i, "bad header count");
    }
    record.headers.clear();
    for (int32_t j = 0; j < *header_count; ++j) {
      std::optional<std::string_view> key;
      std::optional<std::string_view> value;
      if (!ReadNullableBytes(p, record_end, key) || !key) return Malformed(i, "bad header key");
      if (!ReadNullableBytes(p, record_end, value)) return Malformed(i, "bad header value");
      record.headers.push_back(RecordHeaderView{*key, value});
    }
    if (p != record_end) return Malformed(i, "length does not match its fields");
    auto status = callback(record);
    if (!status.ok()) return status;
  }
  if (p != end) return absl::DataLossError("bytes left after the last record");
  return absl::OkStatus();
}

}  // namespace sluice::kafka
