// The one translation unit that compiles Asio's TLS support (ASIO_SEPARATE_COMPILATION).
#include <asio/ssl/impl/src.hpp>
