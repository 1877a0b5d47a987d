#include "protocol/kafka/error_codes.h"

namespace sluice::kafka {

std::string_view ErrorName(ErrorCode code) {
  switch (code) {
#define SLUICE_KAFKA_ERROR_NAME(name, number, text) \
  case ErrorCode::name:                             \
    return text;
    SLUICE_KAFKA_ERROR_CODES(SLUICE_KAFKA_ERROR_NAME)
#undef SLUICE_KAFKA_ERROR_NAME
  }
  return "UNKNOWN_ERROR_CODE";
}

}  // namespace sluice::kafka
