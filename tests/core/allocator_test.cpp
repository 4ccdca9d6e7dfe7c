// The CPU caching allocator: size classes, reuse, accounting, empty_cache,
// alignment and concurrency. Most tests build private allocators, so the
// process-wide one (whose caching REDES_CPU_CACHE may turn off) and other
// tensors cannot disturb the counts.
#include <gtest/gtest.h>

#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <random>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "core/cpu_allocator.h"
#include "support/test_support.h"

namespace redes {
namespace {

using detail::CpuAllocator;

bool aligned_64(const void* ptr) { return reinterpret_cast<std::uintptr_t>(ptr) % 64 == 0; }

TEST(CpuAllocatorTest, ReuseAfterFreeIsServedFromTheCache) {
  CpuAllocator allocator(true);
  void* first = allocator.allocate(1000);
  allocator.deallocate(first, 1000);
  EXPECT_EQ(allocator.stats().cached_bytes, CpuAllocator::block_size(1000));

  // 1010 bytes fall in 1000's size class (1024), so the cached block serves it.
  ASSERT_EQ(CpuAllocator::block_size(1010), CpuAllocator::block_size(1000));
  void* second = allocator.allocate(1010);
  EXPECT_EQ(second, first);
  const AllocatorStats stats = allocator.stats();
  EXPECT_EQ(stats.system_allocations, 1u);
  EXPECT_EQ(stats.cache_hits, 1u);
  EXPECT_EQ(stats.allocations, 2u);
  EXPECT_EQ(stats.cached_bytes, 0u);
  allocator.deallocate(second, 1010);
}

TEST(CpuAllocatorTest, OtherSizeClassesGoToTheSystem) {
  CpuAllocator allocator(true);
  void* small = allocator.allocate(64);
  allocator.deallocate(small, 64);
  void* large = allocator.allocate(4096);
  const AllocatorStats stats = allocator.stats();
  EXPECT_EQ(stats.system_allocations, 2u);
  EXPECT_EQ(stats.cache_hits, 0u);
  EXPECT_EQ(stats.cached_bytes, 64u);  // the small block still waits
  allocator.deallocate(large, 4096);
}

TEST(CpuAllocatorTest, LivePeakAndCachedBytesAreAccounted) {
  CpuAllocator allocator(true);
  void* a = allocator.allocate(100);
  void* b = allocator.allocate(200);
  AllocatorStats stats = allocator.stats();
  EXPECT_EQ(stats.live_bytes, 300u);  // requested bytes, not block sizes
  EXPECT_EQ(stats.peak_live_bytes, 300u);
  EXPECT_EQ(stats.cached_bytes, 0u);

  allocator.deallocate(b, 200);
  stats = allocator.stats();
  EXPECT_EQ(stats.live_bytes, 100u);
  EXPECT_EQ(stats.peak_live_bytes, 300u);
  EXPECT_EQ(stats.cached_bytes, CpuAllocator::block_size(200));
  EXPECT_EQ(stats.frees, 1u);

  allocator.reset_peak();
  EXPECT_EQ(allocator.stats().peak_live_bytes, 100u);
  allocator.deallocate(a, 100);
  stats = allocator.stats();
  EXPECT_EQ(stats.live_bytes, 0u);
  EXPECT_EQ(stats.cached_bytes, CpuAllocator::block_size(100) + CpuAllocator::block_size(200));
}

TEST(CpuAllocatorTest, EmptyCacheReturnsBlocksToTheSystem) {
  CpuAllocator allocator(true);
  void* a = allocator.allocate(5000);
  void* b = allocator.allocate(3 << 20);
  void* live = allocator.allocate(128);
  allocator.deallocate(a, 5000);
  allocator.deallocate(b, 3 << 20);
  EXPECT_GT(allocator.stats().cached_bytes, 0u);
  const std::size_t all_blocks =
      CpuAllocator::block_size(5000) + CpuAllocator::block_size(3 << 20) + CpuAllocator::block_size(128);
  EXPECT_EQ(allocator.stats().reserved_bytes, all_blocks);

  allocator.empty_cache();
  AllocatorStats stats = allocator.stats();
  EXPECT_EQ(stats.cached_bytes, 0u);
  EXPECT_EQ(stats.reserved_bytes, CpuAllocator::block_size(128));
  EXPECT_EQ(stats.system_frees, 2u);
  EXPECT_EQ(stats.live_bytes, 128u);  // live blocks are untouched
  std::memset(live, 1, 128);

  void* again = allocator.allocate(5000);
  stats = allocator.stats();
  EXPECT_EQ(stats.system_allocations, 4u);
  EXPECT_EQ(stats.cache_hits, 0u);
  allocator.deallocate(again, 5000);
  allocator.deallocate(live, 128);
}

TEST(CpuAllocatorTest, ZeroBytesIsNullAndCountsNothing) {
  for (const bool caching : {true, false}) {
    CpuAllocator allocator(caching);
    EXPECT_EQ(allocator.allocate(0), nullptr);
    allocator.deallocate(nullptr, 0);
    const AllocatorStats stats = allocator.stats();
    EXPECT_EQ(stats.allocations, 0u);
    EXPECT_EQ(stats.frees, 0u);
    EXPECT_EQ(stats.system_allocations, 0u);
    EXPECT_EQ(stats.live_bytes, 0u);
  }
}

TEST(CpuAllocatorTest, SizeClassesAreAlignedBoundedAndMonotonic) {
  std::size_t previous = 0;
  for (std::size_t bytes = 1; bytes <= (std::size_t{64} << 20); bytes = bytes * 9 / 8 + 1) {
    const std::size_t block = CpuAllocator::block_size(bytes);
    EXPECT_GE(block, bytes);
    EXPECT_EQ(block % 64, 0u) << bytes;
    EXPECT_GE(block, previous) << bytes;
    if (bytes > 256) {
      EXPECT_LT(block - bytes, bytes / 4) << bytes;  // under 25% wasted
      EXPECT_LT(block - bytes, std::size_t{1} << 20) << bytes;
    } else {
      EXPECT_LT(block - bytes, 64u) << bytes;  // the next multiple of 64
    }
    EXPECT_EQ(CpuAllocator::block_size(block), block) << bytes;  // a class's size is its own class
    previous = block;
  }
  EXPECT_EQ(CpuAllocator::block_size(1), 64u);
  EXPECT_EQ(CpuAllocator::block_size(65), 128u);
  EXPECT_EQ(CpuAllocator::block_size(513), 640u);
}

TEST(CpuAllocatorTest, EveryClassKeepsItsOwnFreeList) {
  // One block of every class up to 16 MiB (those found by index and the
  // first hashed ones), freed, then asked for again: each class must hand
  // back its own block, never another class's.
  CpuAllocator allocator(true);
  std::vector<std::pair<std::size_t, void*>> blocks;
  for (std::size_t block = 64; block <= (std::size_t{16} << 20); block = CpuAllocator::block_size(block + 1)) {
    blocks.emplace_back(block, allocator.allocate(block));
  }
  EXPECT_GT(blocks.size(), 64u);
  for (const auto& [block, ptr] : blocks) allocator.deallocate(ptr, block);
  for (const auto& [block, ptr] : blocks) {
    void* again = allocator.allocate(block);
    EXPECT_EQ(again, ptr) << block << " bytes";
    std::memset(again, 0x5a, block);
  }
  EXPECT_EQ(allocator.stats().cache_hits, blocks.size());
  for (const auto& [block, ptr] : blocks) allocator.deallocate(ptr, block);
}

TEST(CpuAllocatorTest, ManySizesAreAlignedUsableAndReused) {
  for (const bool caching : {true, false}) {
    CpuAllocator allocator(caching);
    std::vector<std::pair<void*, std::size_t>> blocks;
    for (std::size_t bytes = 1; bytes <= (std::size_t{8} << 20); bytes = bytes * 3 / 2 + 1) {
      void* ptr = allocator.allocate(bytes);
      ASSERT_NE(ptr, nullptr);
      EXPECT_TRUE(aligned_64(ptr)) << bytes;
      std::memset(ptr, 0xab, bytes);  // every requested byte is writable
      blocks.emplace_back(ptr, bytes);
    }
    for (const auto& [ptr, bytes] : blocks) allocator.deallocate(ptr, bytes);
    const std::uint64_t system_before = allocator.stats().system_allocations;
    for (auto& [ptr, bytes] : blocks) {
      ptr = allocator.allocate(bytes);
      EXPECT_TRUE(aligned_64(ptr)) << bytes;
      std::memset(ptr, 0xcd, bytes);
    }
    const AllocatorStats stats = allocator.stats();
    if (caching) {
      EXPECT_EQ(stats.system_allocations, system_before);
      EXPECT_EQ(stats.cache_hits, blocks.size());
    } else {
      EXPECT_EQ(stats.system_allocations, system_before + blocks.size());
      EXPECT_EQ(stats.cache_hits, 0u);
      EXPECT_EQ(stats.cached_bytes, 0u);
    }
    for (const auto& [ptr, bytes] : blocks) allocator.deallocate(ptr, bytes);
    EXPECT_EQ(allocator.stats().live_bytes, 0u);
  }
}

TEST(CpuAllocatorTest, WithoutCachingEveryFreeGoesBackToTheSystem) {
  CpuAllocator allocator(false);
  EXPECT_FALSE(allocator.caching());
  for (int i = 0; i < 3; ++i) allocator.deallocate(allocator.allocate(256), 256);
  const AllocatorStats stats = allocator.stats();
  EXPECT_EQ(stats.system_allocations, 3u);
  EXPECT_EQ(stats.allocations, 3u);
  EXPECT_EQ(stats.frees, 3u);
  EXPECT_EQ(stats.system_frees, 3u);
  EXPECT_EQ(stats.reserved_bytes, 0u);
  EXPECT_EQ(stats.cached_bytes, 0u);
  EXPECT_EQ(stats.cache_hits, 0u);
  EXPECT_EQ(stats.peak_live_bytes, 256u);
}

TEST(CpuAllocatorTest, ConcurrentAllocateAndFreeKeepTheAccounts) {
  CpuAllocator allocator(true);
  constexpr int kThreads = 4, kSteps = 5000;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&allocator, t] {
      std::mt19937 random(static_cast<std::uint32_t>(t));
      std::uniform_int_distribution<std::size_t> size(1, 20000);
      std::vector<std::pair<void*, std::size_t>> held;
      for (int step = 0; step < kSteps; ++step) {
        if (held.size() < 8 && random() % 3 != 0) {
          const std::size_t bytes = size(random);
          auto* ptr = static_cast<unsigned char*>(allocator.allocate(bytes));
          ptr[0] = ptr[bytes - 1] = static_cast<unsigned char>(t);  // catches two threads sharing a block
          held.emplace_back(ptr, bytes);
        } else if (!held.empty()) {
          const auto [ptr, bytes] = held.back();
          held.pop_back();
          const auto* bytes_of = static_cast<const unsigned char*>(ptr);
          EXPECT_EQ(bytes_of[0], t);
          EXPECT_EQ(bytes_of[bytes - 1], t);
          allocator.deallocate(ptr, bytes);
        }
      }
      for (const auto& [ptr, bytes] : held) allocator.deallocate(ptr, bytes);
    });
  }
  for (std::thread& thread : threads) thread.join();

  const AllocatorStats stats = allocator.stats();
  EXPECT_EQ(stats.live_bytes, 0u);
  EXPECT_EQ(stats.allocations, stats.frees);
  EXPECT_EQ(stats.allocations, stats.cache_hits + stats.system_allocations);
  EXPECT_GT(stats.cache_hits, 0u);
  EXPECT_GT(stats.cached_bytes, 0u);
  allocator.empty_cache();
  EXPECT_EQ(allocator.stats().cached_bytes, 0u);
}

TEST(CpuAllocatorTest, CacheSwitchParsesZeroAndOneOnly) {
  EXPECT_TRUE(detail::parse_cpu_cache(nullptr));
  EXPECT_TRUE(detail::parse_cpu_cache("1"));
  EXPECT_FALSE(detail::parse_cpu_cache("0"));
  for (const char* bad : {"", "yes", "off", "01", " 0"}) {
    try {
      detail::parse_cpu_cache(bad);
      ADD_FAILURE() << "accepted '" << bad << "'";
    } catch (const Error& error) {
      EXPECT_NE(std::string(error.what()).find("REDES_CPU_CACHE"), std::string::npos) << error.what();
      EXPECT_NE(std::string(error.what()).find(std::string("'") + bad + "'"), std::string::npos) << error.what();
    }
  }
}

// The process-wide allocator follows REDES_CPU_CACHE (off in the asan preset).
TEST(CpuAllocatorTest, ProcessAllocatorFollowsTheEnvironment) {
  auto& allocator = dynamic_cast<CpuAllocator&>(allocator_for(Device::cpu()));
  EXPECT_EQ(allocator.caching(), detail::parse_cpu_cache(std::getenv("REDES_CPU_CACHE")));
}

// A training-like loop stops calling the system once its sizes are cached.
TEST(CpuAllocatorTest, SteadyStateTensorOpsNeedNoSystemAllocations) {
  auto& allocator = dynamic_cast<CpuAllocator&>(allocator_for(Device::cpu()));
  Tensor x = testing::random_tensor({16, 8}, 1);
  Tensor w = testing::random_tensor({8, 4}, 2).requires_grad_();
  auto step = [&] {
    Tensor loss = relu(matmul(x, w)).sum();
    loss.backward();
    w.zero_grad();
  };
  step();
  const AllocatorStats before = allocator.stats();
  for (int i = 0; i < 10; ++i) step();
  const AllocatorStats after = allocator.stats();
  const std::uint64_t requests = after.allocations - before.allocations;
  ASSERT_GT(requests, 0u);
  if (allocator.caching()) {
    EXPECT_EQ(after.system_allocations, before.system_allocations);
    EXPECT_EQ(after.cache_hits - before.cache_hits, requests);
  } else {
    EXPECT_EQ(after.system_allocations - before.system_allocations, requests);
  }
  EXPECT_EQ(after.live_bytes, before.live_bytes);
}

TEST(CpuAllocatorTest, ProcessAllocatorEmptiesItsCache) {
  Allocator& allocator = allocator_for(Device::cpu());
  { Tensor scratch = zeros({1000}); }
  allocator.empty_cache();
  EXPECT_EQ(allocator.stats().cached_bytes, 0u);
}

}  // namespace
}  // namespace redes
