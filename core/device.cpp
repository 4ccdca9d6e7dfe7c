#include "core/device.h"

#include <ostream>

#include <charconv>

#include "core/cuda.h"
#include "core/error.h"

namespace redes {

Device Device::parse(std::string_view text) {
  if (text == "cpu") return cpu();
  if (text == "cuda") return cuda(0);
  if (text.starts_with("cuda:")) {
    std::string_view digits = text.substr(5);
    int index = -1;
    auto [end, error] = std::from_chars(digits.data(), digits.data() + digits.size(), index);
    if (error == std::errc() && end == digits.data() + digits.size() && index >= 0) return cuda(index);
  }
  detail::fail("Device::parse: expected \"cpu\", \"cuda\" or \"cuda:N\", got \"", text, "\"");
}

Device Device::best() { return cuda::is_available() ? cuda(0) : cpu(); }

std::string Device::str() const {
  return is_cpu() ? std::string("cpu") : "cuda:" + std::to_string(index);
}

std::ostream& operator<<(std::ostream& out, const Device& device) { return out << device.str(); }

}  // namespace redes
