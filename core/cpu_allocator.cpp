// The CPU allocator: 64-byte aligned blocks from the system, with statistics.
#include <atomic>
#include <cstdlib>
#include <new>

#include "core/allocator.h"
#include "core/error.h"
#include "core/runtime.h"

namespace redes {
namespace {

class CpuAllocator final : public Allocator {
 public:
  void* allocate(std::size_t bytes) override {
    if (bytes == 0) return nullptr;
    constexpr std::size_t kAlignment = 64;
    const std::size_t rounded = (bytes + kAlignment - 1) / kAlignment * kAlignment;
    void* ptr = std::aligned_alloc(kAlignment, rounded);
    REDES_CHECK(ptr != nullptr, "cpu allocator: out of memory allocating ", bytes, " bytes");
    const std::size_t live = live_bytes_.fetch_add(bytes) + bytes;
    std::size_t peak = peak_bytes_.load();
    while (live > peak && !peak_bytes_.compare_exchange_weak(peak, live)) {
    }
    allocations_.fetch_add(1);
    system_allocations_.fetch_add(1);
    return ptr;
  }

  void deallocate(void* ptr, std::size_t bytes) override {
    if (ptr == nullptr) return;
    std::free(ptr);
    live_bytes_.fetch_sub(bytes);
    frees_.fetch_add(1);
  }

  AllocatorStats stats() const override {
    AllocatorStats stats;
    stats.live_bytes = live_bytes_.load();
    stats.peak_live_bytes = peak_bytes_.load();
    stats.allocations = allocations_.load();
    stats.frees = frees_.load();
    stats.system_allocations = system_allocations_.load();
    return stats;
  }

  void reset_peak() override { peak_bytes_.store(live_bytes_.load()); }

 private:
  std::atomic<std::size_t> live_bytes_{0};
  std::atomic<std::size_t> peak_bytes_{0};
  std::atomic<std::uint64_t> allocations_{0};
  std::atomic<std::uint64_t> frees_{0};
  std::atomic<std::uint64_t> system_allocations_{0};
};

}  // namespace

Allocator& detail::cpu_allocator() {
  // Never destroyed: tensors in static objects may outlive any destruction order.
  static CpuAllocator* allocator = new CpuAllocator();
  return *allocator;
}

}  // namespace redes
