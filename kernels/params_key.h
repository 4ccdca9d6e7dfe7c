// Text keys of params structs, for the auto-selection cache (kernels/select.h).
// A struct without padding is keyed by its bytes; one with padding (whose
// bytes are not all defined) needs a `tuning_key` overload here, or its op is
// never timed.
#pragma once

#include <cstddef>
#include <cstring>
#include <string>
#include <type_traits>

#include "kernels/params.h"

namespace redes {

using ParamsKeyFn = std::string (*)(const void* params);

template <class T>
std::string bytes_key(const T& value) {
  static_assert(std::has_unique_object_representations_v<T>, "bytes_key needs a struct without padding");
  static constexpr char kHex[] = "0123456789abcdef";
  unsigned char bytes[sizeof(T)];
  std::memcpy(bytes, &value, sizeof(T));
  std::string text;
  text.reserve(2 * sizeof(T));
  for (unsigned char byte : bytes) {
    text.push_back(kHex[byte >> 4]);
    text.push_back(kHex[byte & 15]);
  }
  return text;
}

inline std::string tuning_key(const AvgPool2dParams& p) {
  return bytes_key(p.shape) + bytes_key(p.window) + (p.count_include_pad ? "1" : "0");
}

inline std::string tuning_key(const AvgPool2dBackwardParams& p) {
  return bytes_key(p.shape) + bytes_key(p.window) + (p.count_include_pad ? "1" : "0");
}

template <class Params>
std::string params_key_of(const void* params) {
  const Params& p = *static_cast<const Params*>(params);
  if constexpr (requires { tuning_key(p); }) {
    return tuning_key(p);
  } else {
    return bytes_key(p);
  }
}

// The key function of a params type, or null when it has none.
template <class Params>
constexpr ParamsKeyFn params_key_function() {
  if constexpr (requires(const Params& p) { tuning_key(p); } || std::has_unique_object_representations_v<Params>) {
    return &params_key_of<Params>;
  } else {
    return nullptr;
  }
}

}  // namespace redes
