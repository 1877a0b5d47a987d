#include "controller/service/metadata_log.h"

#include <rocksdb/db.h>
#include <rocksdb/write_batch.h>

#include <fmt/format.h>

namespace sluice::controller {
namespace {

std::string OffsetKey(int64_t offset) {
  std::string key(8, '\0');
  for (int i = 7; i >= 0; --i) {
    key[i] = static_cast<char>(offset & 0xff);
    offset >>= 8;
  }
  return key;
}

int64_t KeyOffset(const rocksdb::Slice& key) {
  int64_t offset = 0;
  for (size_t i = 0; i < 8 && i < key.size(); ++i) offset = (offset << 8) | static_cast<uint8_t>(key[i]);
  return offset;
}

absl::Status FromRocks(const rocksdb::Status& status, std::string_view what) {
  if (status.ok()) return absl::OkStatus();
  return absl::InternalError(fmt::format("metadata log {}: {}", what, status.ToString()));
}

}  // namespace

MetadataLog::MetadataLog(std::unique_ptr<rocksdb::DB> db, int64_t end_offset)
    : db_(std::move(db)), end_offset_(end_offset) {}

MetadataLog::~MetadataLog() = default;

absl::StatusOr<std::unique_ptr<MetadataLog>> MetadataLog::Open(const std::filesystem::path& dir) {
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) return absl::InternalError(fmt::format("cannot create {}: {}", dir.string(), ec.message()));
  rocksdb::Options options;
  options.create_if_missing = true;
  rocksdb::DB* raw = nullptr;
  if (auto status = FromRocks(rocksdb::DB::Open(options, dir.string(), &raw), "open"); !status.ok()) return status;
  std::unique_ptr<rocksdb::DB> db(raw);
  std::unique_ptr<rocksdb::Iterator> it(db->NewIterator(rocksdb::ReadOptions()));
  it->SeekToLast();
  int64_t end = it->Valid() ? KeyOffset(it->key()) + 1 : 0;
  if (auto status = FromRocks(it->status(), "scan"); !status.ok()) return status;
  it.reset();
  return std::unique_ptr<MetadataLog>(new MetadataLog(std::move(db), end));
}

absl::StatusOr<int64_t> MetadataLog::Append(const std::vector<metadata::Record>& records) {
  rocksdb::WriteBatch batch;
  int64_t offset = end_offset_;
  for (const auto& record : records) {
    std::string value;
    record.SerializeToString(&value);
    batch.Put(OffsetKey(offset++), value);
  }
  rocksdb::WriteOptions options;
  options.sync = true;
  if (auto status = FromRocks(db_->Write(options, &batch), "append"); !status.ok()) return status;
  end_offset_ = offset;
  return offset - 1;
}

absl::StatusOr<std::vector<metadata::Record>> MetadataLog::Read(int64_t from, size_t max_records) const {
  std::vector<metadata::Record> out;
  std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(rocksdb::ReadOptions()));
  int64_t expected = from;
  for (it->Seek(OffsetKey(from)); it->Valid() && out.size() < max_records; it->Next(), ++expected) {
    if (KeyOffset(it->key()) != expected) return absl::DataLossError(fmt::format("metadata log gap at offset {}", expected));
    metadata::Record record;
    if (!record.ParseFromArray(it->value().data(), static_cast<int>(it->value().size()))) {
      return absl::DataLossError(fmt::format("metadata record at offset {} does not parse", expected));
    }
    out.push_back(std::move(record));
  }
  if (auto status = FromRocks(it->status(), "read"); !status.ok()) return status;
  return out;
}

}  // namespace sluice::controller
