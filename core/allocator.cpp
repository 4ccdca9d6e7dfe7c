#include "core/allocator.h"

#include "core/runtime.h"

namespace redes {

Allocator::~Allocator() = default;

Allocator& allocator_for(Device device) {
  return device.is_cpu() ? detail::cpu_allocator() : detail::cuda_allocator(device.index);
}

Allocator& pinned_memory_allocator() { return detail::pinned_allocator(); }

}  // namespace redes
