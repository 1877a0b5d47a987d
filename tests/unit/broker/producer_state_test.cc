#include <catch2/catch.hpp>

#include "broker/txn/producer_state.h"

using sluice::broker::ProducerStateTable;
using sluice::kafka::ErrorCode;

TEST_CASE("duplicates are recognised, gaps and stale epochs refused") {
  ProducerStateTable table;
  CHECK(table.Check(7, 0, 0, 4).error == ErrorCode::kNone);
  table.Record(7, 0, {.first_sequence = 0, .last_sequence = 4, .base_offset = 100});
  auto duplicate = table.Check(7, 0, 0, 4);
  REQUIRE(duplicate.duplicate_of != nullptr);
  CHECK(duplicate.duplicate_of->base_offset == 100);
  CHECK(table.Check(7, 0, 6, 6).error == ErrorCode::kOutOfOrderSequenceNumber);
  CHECK(table.Check(7, 0, 5, 9).error == ErrorCode::kNone);
  CHECK(table.Check(7, 1, 3, 3).error == ErrorCode::kOutOfOrderSequenceNumber);
  CHECK(table.Check(7, 1, 0, 0).error == ErrorCode::kNone);
  table.Record(7, 1, {.first_sequence = 0, .last_sequence = 0, .base_offset = 200});
  CHECK(table.Check(7, 0, 5, 5).error == ErrorCode::kInvalidProducerEpoch);
  CHECK(table.Check(99, 0, 17, 17).error == ErrorCode::kNone);  // unknown producers start anywhere
}

TEST_CASE("only the last five batches are remembered and sequences wrap") {
  ProducerStateTable table;
  for (int i = 0; i < 7; ++i) table.Record(1, 0, {.first_sequence = i, .last_sequence = i, .base_offset = i});
  CHECK(table.Check(1, 0, 1, 1).duplicate_of == nullptr);
  CHECK(table.Check(1, 0, 2, 2).duplicate_of != nullptr);
  table.Record(2, 0, {.first_sequence = INT32_MAX - 1, .last_sequence = INT32_MAX, .base_offset = 0});
  CHECK(table.Check(2, 0, 0, 3).error == ErrorCode::kNone);
}
