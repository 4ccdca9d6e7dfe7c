// The caching part of the pinned (page-locked) host allocator, without any
// device: the system calls and the question "has this copy finished?" are
// injected, so the CUDA allocator is a thin adapter and CPU tests drive this
// class with fakes. Internal; exported so tests can build private instances.
//
// Page-locking memory is a slow system call, and the DataLoader stages every
// batch in pinned memory, so freed blocks are kept for reuse:
//   - A request is rounded up to a power of two (at least kMinBlock bytes),
//     so the batches of a run (equal sizes, a smaller last one) reuse a few
//     blocks; a block is reused only for requests of its rounded size.
//   - A non-blocking copy may still be reading a block when its tensor is
//     freed: each copy records a pending use on the block (record_use), and
//     a freed block becomes reusable only once all of its uses are done.
//   - Out of memory: the cache is emptied (waiting for pending uses) and the
//     request retried once before it fails.
#pragma once

#include <cstddef>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "core/allocator.h"
#include "core/export.h"

namespace redes::detail {

// Work queued on a device that reads a host block (a CUDA event after a copy).
class PendingUse {
 public:
  virtual ~PendingUse() = default;
  // True once the work has finished (or can no longer touch the block).
  virtual bool done() = 0;
  // Blocks until the work has finished.
  virtual void wait() = 0;
};

// The system side of a HostBlockCache.
struct HostBlockBackend {
  // Fresh memory of exactly `bytes` bytes, or nullptr when the system has no
  // more (any other failure throws).
  std::function<void*(std::size_t bytes)> allocate;
  // Returns memory `allocate` gave, once no use of it is pending; must not throw.
  std::function<void(void* ptr)> free;
};

class REDES_API HostBlockCache {
 public:
  static constexpr std::size_t kMinBlock = 512;

  // `name` starts every message ("pin_memory").
  HostBlockCache(std::string name, HostBlockBackend backend);
  // Returns the cached blocks (live ones stay with their owners).
  ~HostBlockCache();
  HostBlockCache(const HostBlockCache&) = delete;
  HostBlockCache& operator=(const HostBlockCache&) = delete;

  // The size a request gets: the next power of two, at least kMinBlock.
  static std::size_t round_size(std::size_t bytes);

  // nullptr for 0 bytes; throws redes::Error when the system has no memory
  // left even after the cache was emptied.
  void* allocate(std::size_t bytes);
  // Must not throw (it runs in destructors): a pointer this cache did not
  // hand out, or a double free, is reported on stderr and ignored.
  void deallocate(void* ptr);
  // Work that reads the block holding `ptr` (any address inside it) was
  // queued; the block is not reused or returned until `use` is done. Throws
  // when `ptr` is in no live block.
  void record_use(const void* ptr, std::unique_ptr<PendingUse> use);
  // Waits for the pending uses of freed blocks, then returns every cached
  // block to the system.
  void empty_cache();

  AllocatorStats stats() const;
  void reset_peak();

 private:
  struct Block {
    std::size_t size = 0;  // rounded
    bool live = false;     // handed out and not yet freed
    std::vector<std::unique_ptr<PendingUse>> uses;
  };
  // With mutex_ held: drops the uses that are done; true when none is left.
  static bool uses_done(Block& block);
  // With mutex_ held: freed blocks whose uses are done become reusable.
  void collect_finished();
  // With mutex_ held: returns every reusable block to the system.
  void release_cached();
  // With mutex_ held: waits for the pending uses of freed blocks, then
  // returns every freed block to the system.
  void flush();
  void* take_cached(std::size_t size);

  std::string name_;
  HostBlockBackend backend_;
  mutable std::mutex mutex_;                          // guards everything below
  std::map<const char*, Block> blocks_;               // every block from the system, by address
  std::multimap<std::size_t, const char*> reusable_;  // freed, uses done: by rounded size
  std::vector<const char*> waiting_;                  // freed, uses pending
  AllocatorStats stats_;
};

}  // namespace redes::detail
