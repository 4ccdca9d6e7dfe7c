#include "core/host_block_cache.h"

#include <algorithm>
#include <bit>
#include <cstdio>

#include "core/error.h"

namespace redes::detail {

HostBlockCache::HostBlockCache(std::string name, HostBlockBackend backend)
    : name_(std::move(name)), backend_(std::move(backend)) {}

HostBlockCache::~HostBlockCache() {
  std::lock_guard lock(mutex_);
  collect_finished();
  release_cached();
}

std::size_t HostBlockCache::round_size(std::size_t bytes) { return std::bit_ceil(std::max(bytes, kMinBlock)); }

void* HostBlockCache::allocate(std::size_t bytes) {
  if (bytes == 0) return nullptr;
  const std::size_t size = round_size(bytes);
  std::lock_guard lock(mutex_);
  ++stats_.allocations;
  collect_finished();
  void* ptr = take_cached(size);
  if (ptr != nullptr) {
    ++stats_.cache_hits;
  } else {
    ptr = backend_.allocate(size);
    if (ptr == nullptr) {
      // Cached blocks may be what the system lacks: hand them all back and try once more.
      flush();
      ptr = backend_.allocate(size);
    }
    if (ptr == nullptr) {
      --stats_.allocations;
      fail(name_, ": cannot allocate ", bytes, " bytes (", size, " rounded) of page-locked host memory; pinned ",
           "tensors hold ", stats_.live_bytes, " bytes (page-locked memory is limited by the system, see ulimit -l)");
    }
    ++stats_.system_allocations;
    stats_.reserved_bytes += size;
    blocks_.emplace(static_cast<const char*>(ptr), Block{size, false, {}});
  }
  Block& block = blocks_.at(static_cast<const char*>(ptr));
  block.live = true;
  stats_.live_bytes += size;
  stats_.peak_live_bytes = std::max(stats_.peak_live_bytes, stats_.live_bytes);
  return ptr;
}

void HostBlockCache::deallocate(void* ptr) {
  if (ptr == nullptr) return;
  std::lock_guard lock(mutex_);
  const auto found = blocks_.find(static_cast<const char*>(ptr));
  if (found == blocks_.end() || !found->second.live) {
    std::fprintf(stderr, "redes: %s: cannot free %p: not a live block of this allocator\n", name_.c_str(), ptr);
    return;
  }
  Block& block = found->second;
  block.live = false;
  ++stats_.frees;
  stats_.live_bytes -= block.size;
  stats_.cached_bytes += block.size;
  if (uses_done(block)) {
    reusable_.emplace(block.size, found->first);
  } else {
    waiting_.push_back(found->first);
  }
}

void HostBlockCache::record_use(const void* ptr, std::unique_ptr<PendingUse> use) {
  const auto* byte = static_cast<const char*>(ptr);
  std::lock_guard lock(mutex_);
  auto found = blocks_.upper_bound(byte);
  const bool inside = found != blocks_.begin() && (--found, byte < found->first + found->second.size);
  REDES_CHECK(inside && found->second.live, name_, ": ", ptr, " is not in a live page-locked block");
  // A staging buffer reused for many copies keeps only the unfinished ones.
  uses_done(found->second);
  found->second.uses.push_back(std::move(use));
}

void HostBlockCache::empty_cache() {
  std::lock_guard lock(mutex_);
  flush();
}

void HostBlockCache::flush() {
  for (const char* waiting : waiting_) {
    for (auto& use : blocks_.at(waiting).uses) use->wait();
  }
  collect_finished();
  release_cached();
}

AllocatorStats HostBlockCache::stats() const {
  std::lock_guard lock(mutex_);
  return stats_;
}

void HostBlockCache::reset_peak() {
  std::lock_guard lock(mutex_);
  stats_.peak_live_bytes = stats_.live_bytes;
}

bool HostBlockCache::uses_done(Block& block) {
  std::erase_if(block.uses, [](const std::unique_ptr<PendingUse>& use) { return use->done(); });
  return block.uses.empty();
}

void HostBlockCache::collect_finished() {
  std::erase_if(waiting_, [this](const char* ptr) {
    Block& block = blocks_.at(ptr);
    if (!uses_done(block)) return false;
    reusable_.emplace(block.size, ptr);
    return true;
  });
}

void HostBlockCache::release_cached() {
  for (const auto& [size, ptr] : reusable_) {
    backend_.free(const_cast<char*>(ptr));
    blocks_.erase(ptr);
    stats_.reserved_bytes -= size;
    stats_.cached_bytes -= size;
    ++stats_.system_frees;
  }
  reusable_.clear();
}

void* HostBlockCache::take_cached(std::size_t size) {
  const auto found = reusable_.find(size);
  if (found == reusable_.end()) return nullptr;
  char* ptr = const_cast<char*>(found->second);
  reusable_.erase(found);
  stats_.cached_bytes -= size;
  return ptr;
}

}  // namespace redes::detail
