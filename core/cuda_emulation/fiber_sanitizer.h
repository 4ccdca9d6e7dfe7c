// AddressSanitizer's fiber annotations around every switch between a stack
// worker's own stack and a CUDA thread's stack, so that ASan checks kernels
// running on fiber stacks instead of mistaking them for a stack overflow.
// No-ops in builds without ASan.
#pragma once

#include <cstddef>

#if defined(__SANITIZE_ADDRESS__)
#define REDES_EMULATION_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define REDES_EMULATION_ASAN 1
#endif
#endif

#if defined(REDES_EMULATION_ASAN)
#include <sanitizer/common_interface_defs.h>
#endif

namespace redes::cuda_emulation {

struct FiberStack {
  const void* bottom = nullptr;
  std::size_t size = 0;
};

// Before switching to the stack whose highest address is `top`.
inline void start_fiber_switch([[maybe_unused]] void** fake_stack, [[maybe_unused]] const void* top,
                               [[maybe_unused]] std::size_t size) {
#if defined(REDES_EMULATION_ASAN)
  __sanitizer_start_switch_fiber(fake_stack, static_cast<const char*>(top) - size, size);
#endif
}

// Before switching to `stack`. A null fake_stack says the current fiber ends.
inline void start_fiber_switch([[maybe_unused]] void** fake_stack, [[maybe_unused]] const FiberStack& stack) {
#if defined(REDES_EMULATION_ASAN)
  __sanitizer_start_switch_fiber(fake_stack, stack.bottom, stack.size);
#endif
}

// After a switch; `previous` receives the stack that was left.
inline void finish_fiber_switch([[maybe_unused]] void* fake_stack, [[maybe_unused]] FiberStack* previous = nullptr) {
#if defined(REDES_EMULATION_ASAN)
  if (previous != nullptr) {
    __sanitizer_finish_switch_fiber(fake_stack, &previous->bottom, &previous->size);
  } else {
    __sanitizer_finish_switch_fiber(fake_stack, nullptr, nullptr);
  }
#endif
}

}  // namespace redes::cuda_emulation
