// The records the group and transaction coordinators replay from __consumer_offsets and
// __transaction_state (broker/groups/group_records.h, broker/txn/transaction_records.h), and
// transaction markers (protocol/kafka/batch/control_record.h): bytes a damaged disk may hand
// back. Properties: a decoded key or offset value re-encodes to its bytes; a transaction value
// re-encodes to bytes that decode to the same state; a parsed marker rebuilt into a control
// batch parses to the same marker.

#include <string>

#include "broker/groups/group_records.h"
#include "broker/txn/transaction_records.h"
#include "protocol/kafka/batch/control_record.h"
#include "tests/fuzz/fuzz_check.h"

namespace {

using namespace sluice;

bool SameTxn(const broker::txn::TransactionMetadata& a, const broker::txn::TransactionMetadata& b) {
  return a.producer_id == b.producer_id && a.producer_epoch == b.producer_epoch && a.timeout_ms == b.timeout_ms &&
         a.state == b.state && a.partitions == b.partitions && a.last_update_ms == b.last_update_ms &&
         a.start_ms == b.start_ms;
}

void CheckGroupRecords(std::string_view input) {
  using namespace broker::groups;
  if (auto key = DecodeKey(input); key.ok()) SLUICE_FUZZ_CHECK(EncodeKey(*key) == input);
  if (auto offset = DecodeOffsetValue(input); offset.ok()) SLUICE_FUZZ_CHECK(EncodeOffsetValue(*offset) == input);
  (void)DecodeGroupValue(input);
}

void CheckTransactionRecords(std::string_view input) {
  using namespace broker::txn;
  if (auto id = DecodeTxnKey(input); id.ok()) SLUICE_FUZZ_CHECK(EncodeTxnKey(*id) == input);
  if (auto txn = DecodeTxnValue(input); txn.ok()) {
    auto again = DecodeTxnValue(EncodeTxnValue(*txn));
    SLUICE_FUZZ_CHECK(again.ok() && SameTxn(*again, *txn));
  }
}

void CheckMarker(std::string_view input) {
  auto marker = kafka::ParseTxnMarker(input);
  if (!marker.ok()) return;
  auto rebuilt = kafka::BuildTxnMarkerBatch(1, 0, *marker, 0);
  SLUICE_FUZZ_CHECK(rebuilt.ok());
  auto again = kafka::ParseTxnMarker(*rebuilt);
  SLUICE_FUZZ_CHECK(again.ok() && again->type == marker->type && again->coordinator_epoch == marker->coordinator_epoch);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view input = sluice::fuzz::AsBytes(data, size);
  CheckGroupRecords(input);
  CheckTransactionRecords(input);
  CheckMarker(input);
  return 0;
}
