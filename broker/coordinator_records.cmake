# The records the group and transaction coordinators keep in their internal topics, with the
# state they describe: a library of its own so that the fuzz build, which builds nothing else of
# the broker, has them (tests/fuzz/coordinator_records_fuzzer).
add_library(sluice_coordinator_records STATIC
  ${CMAKE_CURRENT_LIST_DIR}/groups/group.cc
  ${CMAKE_CURRENT_LIST_DIR}/groups/group_records.cc
  ${CMAKE_CURRENT_LIST_DIR}/txn/transaction_metadata.cc
  ${CMAKE_CURRENT_LIST_DIR}/txn/transaction_records.cc)
target_link_libraries(sluice_coordinator_records PUBLIC sluice_kafka_protocol sluice_common)
