// The pinned host allocator's cache, driven by a fake system and fake copies:
// rounding, reuse by size, blocks held back while a copy may still read them,
// empty_cache, statistics, bad frees and out-of-memory flush-and-retry.
#include <gtest/gtest.h>

#include <cstdlib>
#include <map>
#include <memory>
#include <string>

#include "core/host_block_cache.h"
#include "support/test_support.h"

namespace redes {
namespace {

using detail::HostBlockCache;

// Page-locked memory of a fixed capacity: real host memory, counted.
struct FakeSystem {
  std::size_t capacity = std::size_t{1} << 30;
  std::size_t in_use = 0;
  std::map<void*, std::size_t> blocks;
  int frees = 0;

  detail::HostBlockBackend backend() {
    detail::HostBlockBackend result;
    result.allocate = [this](std::size_t bytes) -> void* {
      if (in_use + bytes > capacity) return nullptr;
      void* ptr = std::malloc(bytes);
      if (ptr == nullptr) throw std::bad_alloc();
      blocks.emplace(ptr, bytes);
      in_use += bytes;
      return ptr;
    };
    result.free = [this](void* ptr) {
      const auto found = blocks.find(ptr);
      if (found == blocks.end()) {
        ADD_FAILURE() << "free of " << ptr << ", which the system did not hand out";
        return;
      }
      in_use -= found->second;
      blocks.erase(found);
      ++frees;
      std::free(ptr);
    };
    return result;
  }
  ~FakeSystem() {
    for (const auto& [ptr, bytes] : blocks) std::free(ptr);
  }
};

// A copy the test finishes by hand; wait() finishes it.
struct FakeCopy {
  bool finished = false;
  int waits = 0;
};

class FakeUse final : public detail::PendingUse {
 public:
  explicit FakeUse(FakeCopy& copy) : copy_(copy) {}
  bool done() override { return copy_.finished; }
  void wait() override {
    ++copy_.waits;
    copy_.finished = true;
  }

 private:
  FakeCopy& copy_;
};

TEST(HostBlockCache, RoundsRequestsUpToPowersOfTwo) {
  EXPECT_EQ(HostBlockCache::round_size(1), 512u);
  EXPECT_EQ(HostBlockCache::round_size(512), 512u);
  EXPECT_EQ(HostBlockCache::round_size(513), 1024u);
  EXPECT_EQ(HostBlockCache::round_size(3000), 4096u);
  EXPECT_EQ(HostBlockCache::round_size(std::size_t{1} << 24), std::size_t{1} << 24);
}

TEST(HostBlockCache, AFreedBlockServesTheNextRequestOfItsSize) {
  FakeSystem system;
  HostBlockCache cache("pin_memory", system.backend());
  EXPECT_EQ(cache.allocate(0), nullptr);
  void* first = cache.allocate(3000);
  cache.deallocate(first);
  EXPECT_EQ(cache.stats().cached_bytes, 4096u);
  void* again = cache.allocate(2500);  // rounds to the same 4096
  EXPECT_EQ(again, first);
  void* bigger = cache.allocate(5000);  // 8192: a block of its own
  EXPECT_NE(bigger, first);
  const AllocatorStats stats = cache.stats();
  EXPECT_EQ(stats.allocations, 3u);
  EXPECT_EQ(stats.system_allocations, 2u);
  EXPECT_EQ(stats.cache_hits, 1u);
  EXPECT_EQ(stats.live_bytes, 4096u + 8192u);
  EXPECT_EQ(stats.reserved_bytes, 4096u + 8192u);
  EXPECT_EQ(stats.cached_bytes, 0u);
  cache.deallocate(again);
  cache.deallocate(bigger);
  EXPECT_EQ(cache.stats().live_bytes, 0u);
  EXPECT_EQ(cache.stats().peak_live_bytes, 4096u + 8192u);
  cache.reset_peak();
  EXPECT_EQ(cache.stats().peak_live_bytes, 0u);
}

TEST(HostBlockCache, ABlockWaitsForTheCopiesThatReadIt) {
  FakeSystem system;
  HostBlockCache cache("pin_memory", system.backend());
  FakeCopy copy;
  void* staging = cache.allocate(1000);
  cache.record_use(static_cast<char*>(staging) + 100, std::make_unique<FakeUse>(copy));  // any address inside
  cache.deallocate(staging);
  void* other = cache.allocate(1000);
  EXPECT_NE(other, staging) << "reused while a copy may still read it";
  copy.finished = true;
  cache.deallocate(other);
  void* a = cache.allocate(1000);
  void* b = cache.allocate(1000);
  EXPECT_TRUE((a == staging && b == other) || (a == other && b == staging)) << "both blocks are reusable now";
  EXPECT_EQ(cache.stats().system_allocations, 2u);
  EXPECT_EQ(copy.waits, 0) << "nobody had to wait";
  cache.deallocate(a);
  cache.deallocate(b);
}

TEST(HostBlockCache, EmptyCacheWaitsForPendingCopiesAndReturnsEveryCachedBlock) {
  FakeSystem system;
  {
    HostBlockCache cache("pin_memory", system.backend());
    FakeCopy copy;
    void* pending = cache.allocate(600);
    void* idle = cache.allocate(600);
    void* live = cache.allocate(600);
    cache.record_use(pending, std::make_unique<FakeUse>(copy));
    cache.deallocate(pending);
    cache.deallocate(idle);
    cache.empty_cache();
    EXPECT_EQ(copy.waits, 1);
    EXPECT_EQ(system.frees, 2);
    const AllocatorStats stats = cache.stats();
    EXPECT_EQ(stats.reserved_bytes, 1024u);
    EXPECT_EQ(stats.cached_bytes, 0u);
    EXPECT_EQ(stats.system_frees, 2u);
    cache.deallocate(live);
  }
  EXPECT_EQ(system.frees, 3) << "the destructor returns what was cached";
  EXPECT_TRUE(system.blocks.empty());
}

TEST(HostBlockCache, OutOfMemoryEmptiesTheCacheAndRetriesOnce) {
  FakeSystem system;
  system.capacity = 3 * 4096;
  HostBlockCache cache("pin_memory", system.backend());
  FakeCopy copy;
  void* cached = cache.allocate(4096);
  void* pending = cache.allocate(4096);
  cache.record_use(pending, std::make_unique<FakeUse>(copy));
  cache.deallocate(cached);
  cache.deallocate(pending);
  // 8192 bytes do not fit beside the two cached blocks; they do once those are returned.
  void* big = cache.allocate(8192);
  ASSERT_NE(big, nullptr);
  EXPECT_EQ(copy.waits, 1) << "the pending copy was waited for before its block went back";
  EXPECT_EQ(system.frees, 2);
  testing::expect_error([&] { cache.allocate(8192); },
                        {"pin_memory: cannot allocate 8192 bytes (8192 rounded) of page-locked host memory",
                         "pinned tensors hold 8192 bytes", "ulimit -l"});
  EXPECT_EQ(cache.stats().allocations, 3u) << "the failed request is not counted";
  cache.deallocate(big);
}

TEST(HostBlockCache, BadFreesAndUsesOutsideLiveBlocksAreRefused) {
  FakeSystem system;
  HostBlockCache cache("pin_memory", system.backend());
  FakeCopy copy;
  void* block = cache.allocate(512);
  int unrelated = 0;
  testing::expect_error([&] { cache.record_use(&unrelated, std::make_unique<FakeUse>(copy)); },
                        "is not in a live page-locked block");
  testing::expect_error([&] { cache.record_use(static_cast<char*>(block) + 512, std::make_unique<FakeUse>(copy)); },
                        "is not in a live page-locked block");
  cache.deallocate(block);
  testing::expect_error([&] { cache.record_use(block, std::make_unique<FakeUse>(copy)); },
                        "is not in a live page-locked block");
  ::testing::internal::CaptureStderr();
  cache.deallocate(block);  // twice
  cache.deallocate(&unrelated);
  const std::string printed = ::testing::internal::GetCapturedStderr();
  EXPECT_NE(printed.find("pin_memory: cannot free"), std::string::npos) << printed;
  EXPECT_EQ(cache.stats().frees, 1u);
  EXPECT_EQ(cache.allocate(100), block) << "the bad frees left the cache intact";
}

}  // namespace
}  // namespace redes
