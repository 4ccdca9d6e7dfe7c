// The caching device allocator's block management, driven by a fake device:
// rounding, segment sizes, reuse per stream, splitting, coalescing,
// empty_cache, statistics, and out-of-memory flush-and-retry.
#include <gtest/gtest.h>

#include <cstdlib>
#include <cstring>
#include <iterator>
#include <limits>
#include <map>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "core/block_cache.h"
#include "support/test_support.h"

namespace redes {
namespace {

using detail::BlockCache;

constexpr std::size_t kMiB = std::size_t{1} << 20;

// A device with a fixed capacity: segments are real host memory (so the
// cache's pointer arithmetic stays inside real objects), counted and checked.
struct FakeDevice {
  std::size_t capacity = std::size_t{1} << 40;  // bytes it will hand out in total
  std::size_t in_use = 0;
  int allocate_calls = 0;
  int failed_allocations = 0;
  int synchronize_calls = 0;
  std::map<void*, std::size_t> segments;  // live segments and their sizes
  std::vector<std::size_t> freed_sizes;

  detail::BlockCacheBackend backend() {
    detail::BlockCacheBackend result;
    result.allocate = [this](std::size_t bytes) -> void* {
      ++allocate_calls;
      if (in_use + bytes > capacity) {
        ++failed_allocations;
        return nullptr;
      }
      void* ptr = std::malloc(bytes);
      if (ptr == nullptr) throw std::bad_alloc();
      segments.emplace(ptr, bytes);
      in_use += bytes;
      return ptr;
    };
    result.free = [this](void* ptr, std::size_t bytes) {
      const auto found = segments.find(ptr);
      // A free of anything but a whole live segment is a bug in the cache.
      if (found == segments.end() || found->second != bytes) {
        ADD_FAILURE() << "free of " << ptr << " (" << bytes << " bytes) does not match a live segment";
        return;
      }
      EXPECT_GT(synchronize_calls, 0) << "a segment was freed before the device was synchronised";
      segments.erase(found);
      in_use -= bytes;
      freed_sizes.push_back(bytes);
      std::free(ptr);
    };
    result.synchronize = [this] { ++synchronize_calls; };
    result.describe_memory = [this] {
      return "fake device: " + std::to_string(capacity - in_use) + " of " + std::to_string(capacity) +
             " bytes free";
    };
    return result;
  }

  ~FakeDevice() {
    for (const auto& [ptr, bytes] : segments) std::free(ptr);
  }
};

// Stream keys only need to be distinct addresses.
const int stream_tags[2] = {0, 0};
const void* const stream_a = &stream_tags[0];
const void* const stream_b = &stream_tags[1];

char* as_bytes(void* ptr) { return static_cast<char*>(ptr); }

TEST(BlockCacheTest, RoundsRequestsToMultiplesOf512Bytes) {
  EXPECT_EQ(BlockCache::round_size(1), 512u);
  EXPECT_EQ(BlockCache::round_size(512), 512u);
  EXPECT_EQ(BlockCache::round_size(513), 1024u);
  EXPECT_EQ(BlockCache::round_size(1000), 1024u);
  EXPECT_EQ(BlockCache::round_size(kMiB + 1), kMiB + 512);
}

TEST(BlockCacheTest, SegmentSizesFollowTheRequestClass) {
  EXPECT_EQ(BlockCache::segment_size(512), 2 * kMiB);  // small: shares a 2 MiB segment
  EXPECT_EQ(BlockCache::segment_size(kMiB), 2 * kMiB);
  EXPECT_EQ(BlockCache::segment_size(kMiB + 512), 20 * kMiB);  // medium: shares a 20 MiB segment
  EXPECT_EQ(BlockCache::segment_size(10 * kMiB - 512), 20 * kMiB);
  EXPECT_EQ(BlockCache::segment_size(10 * kMiB), 10 * kMiB);  // large: its own, rounded to 2 MiB
  EXPECT_EQ(BlockCache::segment_size(11 * kMiB), 12 * kMiB);
}

TEST(BlockCacheTest, ZeroBytesAllocateNothing) {
  FakeDevice device;
  BlockCache cache("fake:0 allocator", device.backend());
  EXPECT_EQ(cache.allocate(0, stream_a), nullptr);
  cache.deallocate(nullptr);
  EXPECT_EQ(device.allocate_calls, 0);
  EXPECT_EQ(cache.stats().allocations, 0u);
}

TEST(BlockCacheTest, SmallRequestsShareOneSegment) {
  FakeDevice device;
  BlockCache cache("fake:0 allocator", device.backend());
  void* a = cache.allocate(100, stream_a);
  void* b = cache.allocate(1000, stream_a);
  void* c = cache.allocate(4096, stream_a);
  ASSERT_EQ(device.allocate_calls, 1);
  ASSERT_EQ(device.segments.size(), 1u);
  const auto& [segment, segment_bytes] = *device.segments.begin();
  EXPECT_EQ(segment_bytes, 2 * kMiB);
  // Blocks are carved from the start of the segment, each rounded to 512.
  EXPECT_EQ(a, segment);
  EXPECT_EQ(as_bytes(b), as_bytes(a) + 512);
  EXPECT_EQ(as_bytes(c), as_bytes(b) + 1024);
  EXPECT_EQ(cache.block_size(a), 512u);
  EXPECT_EQ(cache.block_size(b), 1024u);
  EXPECT_EQ(cache.block_size(c), 4096u);

  const AllocatorStats stats = cache.stats();
  EXPECT_EQ(stats.allocations, 3u);
  EXPECT_EQ(stats.system_allocations, 1u);
  EXPECT_EQ(stats.cache_hits, 2u);  // b and c came from the segment's free rest
  EXPECT_EQ(stats.live_bytes, 100u + 1000u + 4096u);
  EXPECT_EQ(stats.reserved_bytes, 2 * kMiB);
  EXPECT_EQ(stats.cached_bytes, 2 * kMiB - 512 - 1024 - 4096);
  for (void* ptr : {a, b, c}) cache.deallocate(ptr);
}

TEST(BlockCacheTest, FreedBlockIsReusedOnTheSameStream) {
  FakeDevice device;
  BlockCache cache("fake:0 allocator", device.backend());
  void* first = cache.allocate(3 * kMiB, stream_a);
  cache.deallocate(first);
  void* second = cache.allocate(3 * kMiB - 100, stream_a);
  EXPECT_EQ(second, first);
  EXPECT_EQ(device.allocate_calls, 1);
  const AllocatorStats stats = cache.stats();
  EXPECT_EQ(stats.system_allocations, 1u);
  EXPECT_EQ(stats.cache_hits, 1u);
  EXPECT_EQ(stats.frees, 1u);
  cache.deallocate(second);
}

TEST(BlockCacheTest, FreedBlockIsNotReusedOnAnotherStream) {
  FakeDevice device;
  BlockCache cache("fake:0 allocator", device.backend());
  void* on_a = cache.allocate(4096, stream_a);
  cache.deallocate(on_a);
  void* on_b = cache.allocate(4096, stream_b);
  // Stream B gets a segment of its own: A's kernels may still use A's block.
  EXPECT_EQ(device.allocate_calls, 2);
  ASSERT_EQ(device.segments.size(), 2u);
  EXPECT_NE(on_b, on_a);
  char* segment_a = as_bytes(on_a);
  EXPECT_TRUE(as_bytes(on_b) < segment_a || as_bytes(on_b) >= segment_a + 2 * kMiB)
      << "stream B's block lies inside stream A's segment";
  EXPECT_EQ(cache.stats().cache_hits, 0u);
  // And stream A still finds its own block.
  void* again_a = cache.allocate(4096, stream_a);
  EXPECT_EQ(again_a, on_a);
  EXPECT_EQ(device.allocate_calls, 2);
  cache.deallocate(on_b);
  cache.deallocate(again_a);
}

TEST(BlockCacheTest, BestFitPicksTheSmallestFreeBlockThatHolds) {
  FakeDevice device;
  BlockCache cache("fake:0 allocator", device.backend());
  // Three blocks separated by live ones, so freeing them cannot merge them.
  void* big = cache.allocate(8192, stream_a);
  void* fence1 = cache.allocate(512, stream_a);
  void* mid = cache.allocate(2048, stream_a);
  void* fence2 = cache.allocate(512, stream_a);
  void* tiny = cache.allocate(512, stream_a);
  void* fence3 = cache.allocate(512, stream_a);
  cache.deallocate(big);
  cache.deallocate(mid);
  cache.deallocate(tiny);
  EXPECT_EQ(cache.allocate(1900, stream_a), mid);  // 2048 fits best, not 8192 or the rest
  EXPECT_EQ(cache.allocate(300, stream_a), tiny);
  for (void* ptr : {mid, tiny, fence1, fence2, fence3}) cache.deallocate(ptr);
}

TEST(BlockCacheTest, LargeBlockIsSplitAndTheRestServesTheNextRequest) {
  FakeDevice device;
  BlockCache cache("fake:0 allocator", device.backend());
  void* a = cache.allocate(2 * kMiB, stream_a);  // from a 20 MiB segment
  ASSERT_EQ(device.segments.size(), 1u);
  EXPECT_EQ(device.segments.begin()->second, 20 * kMiB);
  EXPECT_EQ(cache.block_size(a), 2 * kMiB);
  void* b = cache.allocate(5 * kMiB, stream_a);
  EXPECT_EQ(as_bytes(b), as_bytes(a) + 2 * kMiB);
  EXPECT_EQ(cache.block_size(b), 5 * kMiB);
  EXPECT_EQ(device.allocate_calls, 1);
  EXPECT_EQ(cache.stats().cached_bytes, 13 * kMiB);
  cache.deallocate(a);
  cache.deallocate(b);
}

TEST(BlockCacheTest, LargeBlockKeepsARemainderOfAtMostOneMiB) {
  FakeDevice device;
  BlockCache cache("fake:0 allocator", device.backend());
  void* a = cache.allocate(12 * kMiB - 512 * 1024, stream_a);  // segment 12 MiB, rest 0.5 MiB
  EXPECT_EQ(device.segments.begin()->second, 12 * kMiB);
  EXPECT_EQ(cache.block_size(a), 12 * kMiB);  // not split: the rest would be a sliver
  EXPECT_EQ(cache.stats().cached_bytes, 0u);
  cache.deallocate(a);
}

TEST(BlockCacheTest, SmallAndLargeRequestsUseSeparatePools) {
  FakeDevice device;
  BlockCache cache("fake:0 allocator", device.backend());
  void* large = cache.allocate(3 * kMiB, stream_a);
  cache.deallocate(large);  // 20 MiB free in the large pool
  void* small = cache.allocate(4096, stream_a);
  EXPECT_EQ(device.allocate_calls, 2);  // a 2 MiB small segment, not a piece of the large one
  EXPECT_EQ(device.segments.count(small), 1u);
  EXPECT_EQ(device.segments.at(small), 2 * kMiB);
  cache.deallocate(small);
}

TEST(BlockCacheTest, FreedNeighboursCoalesceIntoOneBlock) {
  FakeDevice device;
  BlockCache cache("fake:0 allocator", device.backend());
  void* a = cache.allocate(1024, stream_a);
  void* b = cache.allocate(1024, stream_a);
  void* c = cache.allocate(1024, stream_a);
  void* keep = cache.allocate(1024, stream_a);
  // Free out of order: b alone, then a (merges with b), then c (merges with a+b).
  cache.deallocate(b);
  cache.deallocate(a);
  cache.deallocate(c);
  // A 3072-byte request fits only if a, b and c became one block at a.
  void* merged = cache.allocate(3072, stream_a);
  EXPECT_EQ(merged, a);
  EXPECT_EQ(cache.block_size(merged), 3072u);
  EXPECT_EQ(device.allocate_calls, 1);
  cache.deallocate(merged);
  cache.deallocate(keep);
  // Everything free again: the segment is one block, so empty_cache returns it.
  cache.empty_cache();
  EXPECT_TRUE(device.segments.empty());
}

TEST(BlockCacheTest, EmptyCacheReturnsOnlyWhollyFreeSegments) {
  FakeDevice device;
  BlockCache cache("fake:0 allocator", device.backend());
  void* kept = cache.allocate(4096, stream_a);          // keeps its small segment busy
  void* freed_small = cache.allocate(4096, stream_b);   // stream B's small segment
  void* freed_large = cache.allocate(12 * kMiB, stream_a);
  cache.deallocate(freed_small);
  cache.deallocate(freed_large);
  ASSERT_EQ(device.segments.size(), 3u);
  AllocatorStats stats = cache.stats();
  EXPECT_EQ(stats.reserved_bytes, 2 * kMiB + 2 * kMiB + 12 * kMiB);

  cache.empty_cache();
  EXPECT_EQ(device.synchronize_calls, 1);
  ASSERT_EQ(device.segments.size(), 1u);
  EXPECT_EQ(device.segments.count(kept), 1u);
  stats = cache.stats();
  EXPECT_EQ(stats.reserved_bytes, 2 * kMiB);
  EXPECT_EQ(stats.cached_bytes, 2 * kMiB - 4096);
  EXPECT_EQ(stats.system_frees, 2u);
  EXPECT_EQ(stats.live_bytes, 4096u);

  // The kept block still works and its segment is reused.
  std::memset(kept, 0x5a, 4096);
  void* next = cache.allocate(512, stream_a);
  EXPECT_EQ(as_bytes(next), as_bytes(kept) + 4096);
  cache.deallocate(next);
  cache.deallocate(kept);
  cache.empty_cache();
  EXPECT_TRUE(device.segments.empty());
  EXPECT_EQ(cache.stats().reserved_bytes, 0u);
  EXPECT_EQ(cache.stats().cached_bytes, 0u);
}

TEST(BlockCacheTest, EmptyCacheWithNothingCachedDoesNotSynchronise) {
  FakeDevice device;
  BlockCache cache("fake:0 allocator", device.backend());
  void* live = cache.allocate(12 * kMiB, stream_a);
  cache.empty_cache();
  EXPECT_EQ(device.synchronize_calls, 0);
  EXPECT_EQ(device.segments.size(), 1u);
  cache.deallocate(live);
}

TEST(BlockCacheTest, PeakAndLiveBytesCountRequestedBytes) {
  FakeDevice device;
  BlockCache cache("fake:0 allocator", device.backend());
  void* a = cache.allocate(100, stream_a);
  void* b = cache.allocate(3000, stream_a);
  EXPECT_EQ(cache.stats().peak_live_bytes, 3100u);
  cache.deallocate(b);
  AllocatorStats stats = cache.stats();
  EXPECT_EQ(stats.live_bytes, 100u);
  EXPECT_EQ(stats.peak_live_bytes, 3100u);
  cache.reset_peak();
  EXPECT_EQ(cache.stats().peak_live_bytes, 100u);
  cache.deallocate(a);
  stats = cache.stats();
  EXPECT_EQ(stats.live_bytes, 0u);
  EXPECT_EQ(stats.frees, 2u);
  EXPECT_EQ(stats.allocations, 2u);
  // With nothing live, every reserved byte is cached.
  EXPECT_EQ(stats.cached_bytes, stats.reserved_bytes);
}

TEST(BlockCacheTest, OutOfMemoryFlushesTheCacheAndRetriesOnce) {
  FakeDevice device;
  device.capacity = 24 * kMiB;
  BlockCache cache("fake:0 allocator", device.backend());
  // Stream B caches a 20 MiB segment that stream A cannot reuse.
  void* on_b = cache.allocate(3 * kMiB, stream_b);
  cache.deallocate(on_b);
  ASSERT_EQ(cache.stats().cached_bytes, 20 * kMiB);

  // 12 MiB does not fit next to the cached 20 MiB: the cache is returned and
  // the second try succeeds.
  void* on_a = cache.allocate(12 * kMiB, stream_a);
  ASSERT_NE(on_a, nullptr);
  EXPECT_EQ(device.failed_allocations, 1);
  EXPECT_EQ(device.allocate_calls, 3);
  EXPECT_EQ(device.synchronize_calls, 1);
  ASSERT_EQ(device.freed_sizes.size(), 1u);
  EXPECT_EQ(device.freed_sizes[0], 20 * kMiB);
  const AllocatorStats stats = cache.stats();
  EXPECT_EQ(stats.reserved_bytes, 12 * kMiB);
  EXPECT_EQ(stats.system_allocations, 2u);
  EXPECT_EQ(stats.system_frees, 1u);
  cache.deallocate(on_a);
}

TEST(BlockCacheTest, OutOfMemoryAfterTheRetryThrowsWithSizeAndStatistics) {
  FakeDevice device;
  device.capacity = 16 * kMiB;
  BlockCache cache("fake:0 allocator", device.backend());
  void* live = cache.allocate(12 * kMiB, stream_a);
  try {
    cache.allocate(10 * kMiB, stream_a);
    FAIL() << "expected an out-of-memory error";
  } catch (const Error& error) {
    const std::string message = error.what();
    EXPECT_NE(message.find("fake:0 allocator: out of memory allocating 10485760 bytes"), std::string::npos)
        << message;
    EXPECT_NE(message.find("12582912 bytes live"), std::string::npos) << message;
    EXPECT_NE(message.find("12582912 bytes reserved"), std::string::npos) << message;
    EXPECT_NE(message.find("1 system allocations"), std::string::npos) << message;
    EXPECT_NE(message.find("fake device: 4194304 of 16777216 bytes free"), std::string::npos) << message;
  }
  // Exactly one retry, and the failure left the cache consistent.
  EXPECT_EQ(device.failed_allocations, 2);
  const AllocatorStats stats = cache.stats();
  EXPECT_EQ(stats.allocations, 1u);
  EXPECT_EQ(stats.live_bytes, 12 * kMiB);
  void* small = cache.allocate(4096, stream_a);  // 2 MiB still fits
  EXPECT_NE(small, nullptr);
  cache.deallocate(small);
  cache.deallocate(live);
}

TEST(BlockCacheTest, RequestsTooLargeToRoundAreRefused) {
  FakeDevice device;
  BlockCache cache("fake:0 allocator", device.backend());
  try {
    cache.allocate(std::numeric_limits<std::size_t>::max() - 10, stream_a);
    FAIL() << "expected an error";
  } catch (const Error& error) {
    EXPECT_NE(std::string(error.what()).find("fake:0 allocator: cannot allocate"), std::string::npos)
        << error.what();
  }
  EXPECT_EQ(device.allocate_calls, 0);
}

TEST(BlockCacheTest, FreeingAnUnknownOrFreedPointerThrows) {
  FakeDevice device;
  BlockCache cache("fake:0 allocator", device.backend());
  void* ptr = cache.allocate(1000, stream_a);
  cache.deallocate(ptr);
  try {
    cache.deallocate(ptr);
    FAIL() << "expected an error for a double free";
  } catch (const Error& error) {
    EXPECT_NE(std::string(error.what()).find("is not a live block of this allocator"), std::string::npos)
        << error.what();
  }
  int not_from_the_cache = 0;
  EXPECT_THROW(cache.deallocate(&not_from_the_cache), Error);
  EXPECT_EQ(cache.stats().frees, 1u);
}

TEST(BlockCacheTest, DestructorReturnsCachedSegments) {
  FakeDevice device;
  {
    BlockCache cache("fake:0 allocator", device.backend());
    cache.deallocate(cache.allocate(4096, stream_a));
    cache.deallocate(cache.allocate(12 * kMiB, stream_b));
    ASSERT_EQ(device.segments.size(), 2u);
  }
  EXPECT_TRUE(device.segments.empty());
}

TEST(BlockCacheTest, BlocksDoNotOverlapUnderChurn) {
  FakeDevice device;
  BlockCache cache("fake:0 allocator", device.backend());
  std::mt19937 rng(7);
  std::uniform_int_distribution<std::size_t> size(1, 3 * kMiB);
  std::map<char*, std::size_t> live;  // ptr -> block size
  for (int step = 0; step < 3000; ++step) {
    if (!live.empty() && rng() % 2 == 0) {
      auto victim = live.begin();
      std::advance(victim, static_cast<long>(rng() % live.size()));
      cache.deallocate(victim->first);
      live.erase(victim);
      continue;
    }
    const std::size_t bytes = size(rng);
    char* ptr = as_bytes(cache.allocate(bytes, rng() % 2 ? stream_a : stream_b));
    const std::size_t block = cache.block_size(ptr);
    ASSERT_GE(block, bytes);
    ASSERT_EQ(block % BlockCache::kMinBlock, 0u);
    const auto next = live.lower_bound(ptr);
    if (next != live.end()) {
      ASSERT_LE(ptr + block, next->first) << "overlaps the next live block";
    }
    if (next != live.begin()) {
      const auto prev = std::prev(next);
      ASSERT_LE(prev->first + prev->second, ptr) << "overlaps the previous live block";
    }
    live.emplace(ptr, block);
  }
  std::size_t live_blocks = 0;
  for (const auto& [ptr, block] : live) live_blocks += block;
  AllocatorStats stats = cache.stats();
  EXPECT_EQ(stats.reserved_bytes, stats.cached_bytes + live_blocks);
  EXPECT_EQ(stats.allocations, stats.system_allocations + stats.cache_hits);
  for (const auto& [ptr, block] : live) cache.deallocate(ptr);
  cache.empty_cache();
  // Coalescing put every segment back together, so all of them went back.
  EXPECT_TRUE(device.segments.empty());
  stats = cache.stats();
  EXPECT_EQ(stats.reserved_bytes, 0u);
  EXPECT_EQ(stats.system_frees, stats.system_allocations);
}

TEST(BlockCacheTest, ConcurrentAllocationsKeepTheAccountsExact) {
  FakeDevice device;
  BlockCache cache("fake:0 allocator", device.backend());
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&cache, t] {
      const void* stream = t % 2 ? stream_a : stream_b;
      for (int i = 0; i < 500; ++i) {
        void* ptr = cache.allocate(static_cast<std::size_t>(512 * (1 + (i + t) % 7)), stream);
        std::memset(ptr, t, 512);
        cache.deallocate(ptr);
      }
    });
  }
  for (std::thread& thread : threads) thread.join();
  const AllocatorStats stats = cache.stats();
  EXPECT_EQ(stats.allocations, 2000u);
  EXPECT_EQ(stats.frees, 2000u);
  EXPECT_EQ(stats.live_bytes, 0u);
  EXPECT_EQ(stats.cached_bytes, stats.reserved_bytes);
  EXPECT_EQ(stats.allocations, stats.system_allocations + stats.cache_hits);
}

}  // namespace
}  // namespace redes
