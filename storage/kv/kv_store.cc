#include "storage/kv/kv_store.h"

#include <algorithm>
#include <map>

#include <rocksdb/db.h>
#include <rocksdb/options.h>
#include <rocksdb/write_batch.h>

namespace sluice::kv {
namespace {

rocksdb::Slice ToSlice(std::string_view s) { return rocksdb::Slice(s.data(), s.size()); }
std::string_view ToView(const rocksdb::Slice& s) { return std::string_view(s.data(), s.size()); }

absl::Status FromRocks(const rocksdb::Status& s, std::string_view what) {
  if (s.ok()) return absl::OkStatus();
  std::string message = std::string(what) + ": " + s.ToString();
  if (s.IsNotFound()) return absl::NotFoundError(message);
  if (s.IsCorruption()) return absl::DataLossError(message);
  if (s.IsInvalidArgument()) return absl::InvalidArgumentError(message);
  if (s.IsBusy() || s.IsTimedOut() || s.IsTryAgain()) return absl::UnavailableError(message);
  return absl::InternalError(message);
}

rocksdb::WriteOptions ToRocks(WriteOptions options) {
  rocksdb::WriteOptions w;
  w.sync = options.sync;
  return w;
}

}  // namespace

void WriteBatch::Put(std::string_view column_family, std::string_view key,
                     std::string_view value) {
  ops_.push_back({Op::kPut, std::string(column_family), std::string(key), std::string(value)});
}

void WriteBatch::Delete(std::string_view column_family, std::string_view key) {
  ops_.push_back({Op::kDelete, std::string(column_family), std::string(key), {}});
}

void WriteBatch::DeleteRange(std::string_view column_family, std::string_view begin,
                             std::string_view end) {
  ops_.push_back(
      {Op::kDeleteRange, std::string(column_family), std::string(begin), std::string(end)});
}

struct KvStore::Impl {
  std::unique_ptr<rocksdb::DB> db;
  std::vector<rocksdb::ColumnFamilyHandle*> handles;
  std::map<std::string, rocksdb::ColumnFamilyHandle*, std::less<>> by_name;

  ~Impl() {
    for (rocksdb::ColumnFamilyHandle* h : handles) db->DestroyColumnFamilyHandle(h);
    handles.clear();
    if (db) db->Close().PermitUncheckedError();
  }

  absl::StatusOr<rocksdb::ColumnFamilyHandle*> Family(std::string_view name) const {
    auto it = by_name.find(name);
    if (it == by_name.end()) {
      return absl::InvalidArgumentError("unknown column family '" + std::string(name) + "'");
    }
    return it->second;
  }
};

KvStore::KvStore(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
KvStore::~KvStore() = default;

absl::StatusOr<std::unique_ptr<KvStore>> KvStore::Open(
    const std::string& path, const std::vector<std::string>& column_families) {
  rocksdb::Options options;
  options.create_if_missing = true;
  options.create_missing_column_families = true;

  std::vector<std::string> names = {rocksdb::kDefaultColumnFamilyName};
  std::vector<std::string> existing;
  if (rocksdb::DB::ListColumnFamilies(options, path, &existing).ok()) {
    for (const std::string& n : existing) {
      if (n != rocksdb::kDefaultColumnFamilyName) names.push_back(n);
    }
  }
  for (const std::string& n : column_families) {
    if (n.empty()) return absl::InvalidArgumentError("empty column family name");
    if (std::find(names.begin(), names.end(), n) == names.end()) names.push_back(n);
  }
  std::vector<rocksdb::ColumnFamilyDescriptor> descriptors;
  for (const std::string& n : names) {
    descriptors.emplace_back(n, rocksdb::ColumnFamilyOptions(options));
  }

  auto impl = std::make_unique<Impl>();
  rocksdb::DB* raw = nullptr;
  rocksdb::Status s = rocksdb::DB::Open(options, path, descriptors, &impl->handles, &raw);
  if (!s.ok()) return FromRocks(s, "open " + path);
  impl->db.reset(raw);
  for (rocksdb::ColumnFamilyHandle* h : impl->handles) impl->by_name[h->GetName()] = h;
  return std::unique_ptr<KvStore>(new KvStore(std::move(impl)));
}

absl::StatusOr<std::string> KvStore::Get(std::string_view column_family,
                                         std::string_view key) const {
  absl::StatusOr<rocksdb::ColumnFamilyHandle*> cf = impl_->Family(column_family);
  if (!cf.ok()) return cf.status();
  std::string value;
  rocksdb::Status s = impl_->db->Get(rocksdb::ReadOptions(), *cf, ToSlice(key), &value);
  if (!s.ok()) return FromRocks(s, "get");
  return value;
}

absl::Status KvStore::Put(std::string_view column_family, std::string_view key,
                          std::string_view value, WriteOptions options) {
  WriteBatch batch;
  batch.Put(column_family, key, value);
  return Write(batch, options);
}

absl::Status KvStore::Delete(std::string_view column_family, std::string_view key,
                             WriteOptions options) {
  WriteBatch batch;
  batch.Delete(column_family, key);
  return Write(batch, options);
}

absl::Status KvStore::Write(const WriteBatch& batch, WriteOptions options) {
  rocksdb::WriteBatch wb;
  for (const WriteBatch::Operation& op : batch.ops_) {
    absl::StatusOr<rocksdb::ColumnFamilyHandle*> cf = impl_->Family(op.column_family);
    if (!cf.ok()) return cf.status();
    rocksdb::Status s;
    switch (op.op) {
      case WriteBatch::Op::kPut:
        s = wb.Put(*cf, ToSlice(op.key), ToSlice(op.value));
        break;
      case WriteBatch::Op::kDelete:
        s = wb.Delete(*cf, ToSlice(op.key));
        break;
      case WriteBatch::Op::kDeleteRange:
        s = wb.DeleteRange(*cf, ToSlice(op.key), ToSlice(op.value));
        break;
    }
    if (!s.ok()) return FromRocks(s, "batch");
  }
  return FromRocks(impl_->db->Write(ToRocks(options), &wb), "write");
}

absl::Status KvStore::Scan(std::string_view column_family, std::string_view begin,
                           std::string_view end, const Visitor& visit) const {
  absl::StatusOr<rocksdb::ColumnFamilyHandle*> cf = impl_->Family(column_family);
  if (!cf.ok()) return cf.status();
  std::unique_ptr<rocksdb::Iterator> it(impl_->db->NewIterator(rocksdb::ReadOptions(), *cf));
  for (it->Seek(ToSlice(begin)); it->Valid(); it->Next()) {
    std::string_view key = ToView(it->key());
    if (!end.empty() && key >= end) break;
    if (!visit(key, ToView(it->value()))) break;
  }
  return FromRocks(it->status(), "scan");
}

absl::Status KvStore::ScanPrefix(std::string_view column_family, std::string_view prefix,
                                 const Visitor& visit) const {
  return Scan(column_family, prefix, {}, [&](std::string_view key, std::string_view value) {
    if (key.substr(0, prefix.size()) != prefix) return false;
    return visit(key, value);
  });
}

}  // namespace sluice::kv
