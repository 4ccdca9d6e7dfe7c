// The block management of the caching device allocator, without any device:
// the system allocate/free/synchronize calls are injected, so the CUDA
// allocator is a thin adapter and CPU tests drive this class with a fake
// backend. Internal; exported so tests can build private instances.
//
// How memory is organised:
//   - A request is rounded up to a multiple of 512 bytes (kMinBlock).
//   - Memory comes from the system in segments: rounded requests up to 1 MiB
//     ("small") are carved from 2 MiB segments; larger ones below 10 MiB from
//     20 MiB segments; 10 MiB and more get a segment of their own, rounded
//     up to 2 MiB. Few, large system calls: cudaMalloc is slow and may
//     synchronise the device.
//   - Small and large blocks live in separate pools, so small tensors do not
//     fragment the segments that large ones need.
//   - A free block larger than the request is split; the rest stays free (a
//     large block is split only when the rest exceeds 1 MiB, so large
//     segments are not cut into slivers). A freed block merges with free
//     neighbours of its segment, so a segment whose blocks are all free is
//     one block again and empty_cache() can return it.
//
// Streams: every block belongs to the stream it was first allocated on (its
// segment does), and a freed block is reused only for requests on that same
// stream. Work on one stream runs in order, so a kernel queued after the
// reuse runs after every kernel that used the block before it was freed: no
// event and no host synchronisation is needed on free. Reusing the block on
// another stream would need an event per free; per-stream pools avoid that
// cost, at the price of memory cached per stream. A tensor handed to a
// second stream must be kept alive (or its stream synchronised) until that
// stream's work is done, as with any stream-ordered allocator.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <mutex>
#include <set>
#include <string>
#include <unordered_map>

#include "core/allocator.h"
#include "core/export.h"

namespace redes::detail {

// The system side of a BlockCache.
struct BlockCacheBackend {
  // Fresh memory of exactly `bytes` bytes, or nullptr when the system is out
  // of memory (any other failure throws).
  std::function<void*(std::size_t bytes)> allocate;
  // Returns a segment that `allocate` gave; called only after `synchronize`.
  std::function<void(void* ptr, std::size_t bytes)> free;
  // Waits for all queued work: a cached block may still be used by kernels
  // queued before it was freed, so segments are returned only after this.
  std::function<void()> synchronize;
  // Optional: what the system says about its memory, for out-of-memory
  // messages ("the device has 1024 of 8192 bytes free").
  std::function<std::string()> describe_memory;
};

class REDES_API BlockCache {
 public:
  // The stream a block belongs to (a cudaStream_t for CUDA), only compared.
  using StreamKey = const void*;

  static constexpr std::size_t kMinBlock = 512;
  static constexpr std::size_t kSmallRequest = std::size_t{1} << 20;
  static constexpr std::size_t kSmallSegment = std::size_t{2} << 20;
  static constexpr std::size_t kLargeRequest = std::size_t{10} << 20;
  static constexpr std::size_t kMediumSegment = std::size_t{20} << 20;
  static constexpr std::size_t kLargeRounding = std::size_t{2} << 20;

  // `name` starts every message ("cuda:0 allocator").
  BlockCache(std::string name, BlockCacheBackend backend);
  // Returns the cached segments; segments with live blocks are left alone.
  ~BlockCache();
  BlockCache(const BlockCache&) = delete;
  BlockCache& operator=(const BlockCache&) = delete;

  // The block size a request gets: a multiple of kMinBlock.
  static std::size_t round_size(std::size_t bytes);
  // The segment the system is asked for when no cached block fits a block of `rounded` bytes.
  static std::size_t segment_size(std::size_t rounded);

  // nullptr for 0 bytes. Out of memory: returns every cached segment to the
  // system and retries once, then throws a redes::Error naming the request
  // and the statistics.
  void* allocate(std::size_t bytes, StreamKey stream);
  // Throws a redes::Error for a pointer this cache did not hand out (or
  // already took back); nullptr is ignored.
  void deallocate(void* ptr);
  AllocatorStats stats() const;
  void reset_peak();
  // Returns every segment whose blocks are all free (after synchronize).
  void empty_cache();
  // The size of the block behind a live pointer (tests and diagnostics).
  std::size_t block_size(const void* ptr) const;

 private:
  struct Block {
    char* ptr;
    std::size_t size;
    StreamKey stream;
    bool small;                 // which pool it returns to
    bool allocated = false;
    std::size_t requested = 0;  // bytes asked for, while allocated
    Block* prev = nullptr;      // neighbours within the segment
    Block* next = nullptr;
  };
  struct ByStreamSizeAddress {
    bool operator()(const Block* a, const Block* b) const;
  };
  using Pool = std::set<Block*, ByStreamSizeAddress>;

  Pool& pool_for(bool small) { return small ? small_pool_ : large_pool_; }
  // The smallest free block of the stream's pool that holds `rounded` bytes.
  Block* take_free_block(bool small, StreamKey stream, std::size_t rounded);
  Block* new_segment(bool small, StreamKey stream, std::size_t rounded, std::size_t requested);
  void split(Block* block, std::size_t rounded);
  void release_free_segments();  // with mutex_ held
  [[noreturn]] void out_of_memory(std::size_t requested, std::size_t segment) const;

  const std::string name_;
  const BlockCacheBackend backend_;
  mutable std::mutex mutex_;  // guards everything below
  Pool small_pool_;
  Pool large_pool_;
  std::unordered_map<const void*, Block*> live_;
  AllocatorStats stats_;
};

}  // namespace redes::detail
