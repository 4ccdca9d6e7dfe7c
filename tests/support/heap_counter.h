// Counts every heap allocation of the program that includes this header
// (in exactly one source file): it replaces the global operator new and
// delete, so allocations inside libredes count too. All the forms a program
// may use are replaced together, every one on malloc and free, so that
// sanitizers see matching pairs.
#pragma once

#include <atomic>
#include <cstdlib>
#include <new>

namespace redes::testing {
inline std::atomic<long> heap_allocations{0};

inline void* counted_allocation(std::size_t bytes) noexcept {
  heap_allocations.fetch_add(1, std::memory_order_relaxed);
  return std::malloc(bytes == 0 ? 1 : bytes);
}

inline void* counted_allocation_or_throw(std::size_t bytes) {
  if (void* memory = counted_allocation(bytes)) return memory;
  throw std::bad_alloc();
}
}  // namespace redes::testing

void* operator new(std::size_t bytes) { return redes::testing::counted_allocation_or_throw(bytes); }
void* operator new[](std::size_t bytes) { return redes::testing::counted_allocation_or_throw(bytes); }
void* operator new(std::size_t bytes, const std::nothrow_t&) noexcept {
  return redes::testing::counted_allocation(bytes);
}
void* operator new[](std::size_t bytes, const std::nothrow_t&) noexcept {
  return redes::testing::counted_allocation(bytes);
}
// GCC takes these for a mismatch with its own operator new; they pair with the ones above.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"
#endif
void operator delete(void* memory) noexcept { std::free(memory); }
void operator delete[](void* memory) noexcept { std::free(memory); }
void operator delete(void* memory, std::size_t) noexcept { std::free(memory); }
void operator delete[](void* memory, std::size_t) noexcept { std::free(memory); }
void operator delete(void* memory, const std::nothrow_t&) noexcept { std::free(memory); }
void operator delete[](void* memory, const std::nothrow_t&) noexcept { std::free(memory); }
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic pop
#endif
