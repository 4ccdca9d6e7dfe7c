// redes::Error: the one exception type of the public API. Messages say what
// was expected, what was given and where ("conv2d: input has 3 channels,
// weight expects 1").
#pragma once

#include <sstream>
#include <stdexcept>
#include <string>

#include "core/export.h"

namespace redes {

class REDES_API Error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
  ~Error() override;
};

namespace detail {
template <class... Parts>
[[noreturn]] void fail(const Parts&... parts) {
  std::ostringstream message;
  (message << ... << parts);
  throw Error(message.str());
}
}  // namespace detail

}  // namespace redes

// REDES_CHECK(condition, "op: ", "expected ...", value, ...) throws redes::Error
// with the concatenated message when the condition is false.
#define REDES_CHECK(condition, ...)            \
  do {                                         \
    if (!(condition)) {                        \
      ::redes::detail::fail(__VA_ARGS__);      \
    }                                          \
  } while (false)
