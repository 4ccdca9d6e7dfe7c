// Block management of the caching device allocator (see block_cache.h for
// the size classes, pools and the stream rule).
#include "core/block_cache.h"

#include <algorithm>
#include <functional>
#include <limits>
#include <vector>

#include "core/error.h"

namespace redes::detail {
namespace {

// Larger requests cannot be rounded up to a segment without overflow, and no
// device has the memory.
constexpr std::size_t kMaxRequest = std::numeric_limits<std::size_t>::max() / 4;

std::size_t round_up(std::size_t bytes, std::size_t step) { return (bytes + step - 1) / step * step; }

}  // namespace

bool BlockCache::ByStreamSizeAddress::operator()(const Block* a, const Block* b) const {
  // std::less gives a total order on pointers, which < does not promise.
  if (a->stream != b->stream) return std::less<StreamKey>()(a->stream, b->stream);
  if (a->size != b->size) return a->size < b->size;
  return std::less<const char*>()(a->ptr, b->ptr);
}

BlockCache::BlockCache(std::string name, BlockCacheBackend backend)
    : name_(std::move(name)), backend_(std::move(backend)) {}

BlockCache::~BlockCache() {
  // Live blocks at this point belong to tensors that outlive the cache; their
  // segments stay with the system rather than being freed under them.
  try {
    empty_cache();
  } catch (const Error&) {
  }
  for (Pool* pool : {&small_pool_, &large_pool_}) {
    for (Block* block : *pool) delete block;
  }
  for (const auto& [ptr, block] : live_) delete block;
}

std::size_t BlockCache::round_size(std::size_t bytes) {
  return bytes <= kMinBlock ? kMinBlock : round_up(bytes, kMinBlock);
}

std::size_t BlockCache::segment_size(std::size_t rounded) {
  if (rounded <= kSmallRequest) return kSmallSegment;
  if (rounded < kLargeRequest) return kMediumSegment;
  return round_up(rounded, kLargeRounding);
}

void* BlockCache::allocate(std::size_t bytes, StreamKey stream) {
  if (bytes == 0) return nullptr;
  REDES_CHECK(bytes <= kMaxRequest, name_, ": cannot allocate ", bytes, " bytes (at most ", kMaxRequest,
              " bytes per request)");
  const std::size_t rounded = round_size(bytes);
  const bool small = rounded <= kSmallRequest;
  std::lock_guard lock(mutex_);
  Block* block = take_free_block(small, stream, rounded);
  if (block != nullptr) {
    ++stats_.cache_hits;
  } else {
    block = new_segment(small, stream, rounded, bytes);
  }
  split(block, rounded);
  block->allocated = true;
  block->requested = bytes;
  live_.emplace(block->ptr, block);
  stats_.cached_bytes -= block->size;
  stats_.live_bytes += bytes;
  stats_.peak_live_bytes = std::max(stats_.peak_live_bytes, stats_.live_bytes);
  ++stats_.allocations;
  return block->ptr;
}

BlockCache::Block* BlockCache::take_free_block(bool small, StreamKey stream, std::size_t rounded) {
  Pool& pool = pool_for(small);
  Block key{nullptr, rounded, stream, small};
  const auto found = pool.lower_bound(&key);
  if (found == pool.end() || (*found)->stream != stream) return nullptr;
  Block* block = *found;
  pool.erase(found);
  return block;
}

BlockCache::Block* BlockCache::new_segment(bool small, StreamKey stream, std::size_t rounded, std::size_t requested) {
  const std::size_t size = segment_size(rounded);
  void* ptr = backend_.allocate(size);
  if (ptr == nullptr) {
    // Cached segments of other sizes or streams may be what the system lacks.
    release_free_segments();
    ptr = backend_.allocate(size);
  }
  if (ptr == nullptr) out_of_memory(requested, size);
  ++stats_.system_allocations;
  stats_.reserved_bytes += size;
  stats_.cached_bytes += size;
  return new Block{static_cast<char*>(ptr), size, stream, small};
}

void BlockCache::split(Block* block, std::size_t rounded) {
  const std::size_t rest = block->size - rounded;
  // A large block keeps a remainder of 1 MiB or less: such slivers would only
  // ever serve small requests, which have their own pool.
  const bool worth_it = block->small ? rest >= kMinBlock : rest > kSmallRequest;
  if (!worth_it) return;
  auto* remainder = new Block{block->ptr + rounded, rest, block->stream, block->small};
  remainder->prev = block;
  remainder->next = block->next;
  if (block->next != nullptr) block->next->prev = remainder;
  block->next = remainder;
  block->size = rounded;
  pool_for(block->small).insert(remainder);
}

void BlockCache::deallocate(void* ptr) {
  if (ptr == nullptr) return;
  std::lock_guard lock(mutex_);
  const auto found = live_.find(ptr);
  REDES_CHECK(found != live_.end(), name_, ": cannot free ", ptr,
              ": it is not a live block of this allocator (freed twice, or allocated elsewhere)");
  Block* block = found->second;
  live_.erase(found);
  block->allocated = false;
  stats_.live_bytes -= block->requested;
  stats_.cached_bytes += block->size;
  ++stats_.frees;
  block->requested = 0;

  Pool& pool = pool_for(block->small);
  if (Block* prev = block->prev; prev != nullptr && !prev->allocated) {
    pool.erase(prev);
    prev->size += block->size;
    prev->next = block->next;
    if (block->next != nullptr) block->next->prev = prev;
    delete block;
    block = prev;
  }
  if (Block* next = block->next; next != nullptr && !next->allocated) {
    pool.erase(next);
    block->size += next->size;
    block->next = next->next;
    if (next->next != nullptr) next->next->prev = block;
    delete next;
  }
  pool.insert(block);
}

void BlockCache::empty_cache() {
  std::lock_guard lock(mutex_);
  release_free_segments();
}

void BlockCache::release_free_segments() {
  // A free block without neighbours is a whole segment that nothing uses.
  std::vector<Block*> segments;
  for (Pool* pool : {&small_pool_, &large_pool_}) {
    for (Block* block : *pool) {
      if (block->prev == nullptr && block->next == nullptr) segments.push_back(block);
    }
  }
  if (segments.empty()) return;
  backend_.synchronize();
  for (Block* block : segments) {
    pool_for(block->small).erase(block);
    backend_.free(block->ptr, block->size);
    stats_.reserved_bytes -= block->size;
    stats_.cached_bytes -= block->size;
    ++stats_.system_frees;
    delete block;
  }
}

void BlockCache::out_of_memory(std::size_t requested, std::size_t segment) const {
  const std::string system = backend_.describe_memory ? backend_.describe_memory() : std::string();
  fail(name_, ": out of memory allocating ", requested, " bytes (a ", segment,
       "-byte segment from the system, asked twice, the second time after returning the cache): ",
       stats_.live_bytes, " bytes live in tensors, ", stats_.reserved_bytes, " bytes reserved of which ",
       stats_.cached_bytes, " cached, peak ", stats_.peak_live_bytes, " bytes live, ", stats_.system_allocations,
       " system allocations", system.empty() ? "" : "; ", system);
}

AllocatorStats BlockCache::stats() const {
  std::lock_guard lock(mutex_);
  return stats_;
}

void BlockCache::reset_peak() {
  std::lock_guard lock(mutex_);
  stats_.peak_live_bytes = stats_.live_bytes;
}

std::size_t BlockCache::block_size(const void* ptr) const {
  std::lock_guard lock(mutex_);
  const auto found = live_.find(ptr);
  REDES_CHECK(found != live_.end(), name_, ": ", ptr, " is not a live block of this allocator");
  return found->second->size;
}

}  // namespace redes::detail
