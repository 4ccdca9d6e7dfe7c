// Where a tensor lives: the CPU or one CUDA device.
#pragma once

#include <iosfwd>
#include <string>
#include <string_view>

#include "core/export.h"

namespace redes {

enum class DeviceType : unsigned char { CPU, CUDA };

struct REDES_API Device {
  DeviceType type = DeviceType::CPU;
  int index = 0;

  static Device cpu() { return {DeviceType::CPU, 0}; }
  static Device cuda(int index = 0) { return {DeviceType::CUDA, index}; }
  // "cpu", "cuda", "cuda:1"; anything else throws redes::Error.
  static Device parse(std::string_view text);
  // cuda:0 when this build has CUDA and a GPU is present, else cpu.
  static Device best();

  bool is_cpu() const { return type == DeviceType::CPU; }
  bool is_cuda() const { return type == DeviceType::CUDA; }
  std::string str() const;
  friend bool operator==(const Device&, const Device&) = default;
};

REDES_API std::ostream& operator<<(std::ostream& out, const Device& device);  // "cpu", "cuda:0"

}  // namespace redes
