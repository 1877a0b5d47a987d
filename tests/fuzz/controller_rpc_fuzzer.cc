// Controller RPC payloads: every protobuf message a controller accepts from brokers and Raft
// peers, every reply a broker parses from the controller, and the Raft entry payloads and state
// a voter parses (controller_rpc_messages.h).
// Input: one byte choosing the message type, then the payload. Property: a payload that parses
// serializes to bytes that parse and serialize to the same bytes (unknown fields included).

#include <memory>
#include <string>

#include <google/protobuf/io/coded_stream.h>
#include <google/protobuf/io/zero_copy_stream_impl_lite.h>
#include <google/protobuf/stubs/logging.h>

#include "tests/fuzz/controller_rpc_messages.h"
#include "tests/fuzz/fuzz_check.h"

namespace {

using google::protobuf::Message;

// Deterministic, so that the map field of CreatableTopic serializes in one order.
std::string Serialize(const Message& message) {
  std::string out;
  {
    google::protobuf::io::StringOutputStream stream(&out);
    google::protobuf::io::CodedOutputStream coded(&stream);
    coded.SetSerializationDeterministic(true);
    SLUICE_FUZZ_CHECK(message.SerializeToCodedStream(&coded));
  }
  return out;
}

}  // namespace

// Proto3 strings with invalid UTF-8 fail to parse (as in the processes) with a log line each.
extern "C" int LLVMFuzzerInitialize(int*, char***) {
  google::protobuf::SetLogHandler(nullptr);
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1) return 0;
  using sluice::fuzz::kControllerRpcMessages;
  const Message& prototype = *kControllerRpcMessages[data[0] % std::size(kControllerRpcMessages)];
  std::unique_ptr<Message> message(prototype.New());
  // As RegisterProto does: ParseFromArray over the frame's payload.
  if (!message->ParseFromArray(data + 1, static_cast<int>(size - 1))) return 0;
  const std::string first = Serialize(*message);
  std::unique_ptr<Message> again(prototype.New());
  SLUICE_FUZZ_CHECK(again->ParseFromString(first));
  SLUICE_FUZZ_CHECK(Serialize(*again) == first);
  return 0;
}
