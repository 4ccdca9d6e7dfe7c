// A block of device memory shared by a tensor and all its views, with the
// version counter that autograd uses to detect in-place changes.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>

#include "core/device.h"
#include "core/export.h"

namespace redes {

class Allocator;

class REDES_API Storage {
 public:
  // Memory from the device's allocator.
  Storage(std::size_t nbytes, Device device);
  // Memory from `allocator`, which must outlive the storage; `pinned` marks
  // page-locked host memory (pin_memory).
  Storage(std::size_t nbytes, Device device, Allocator& allocator, bool pinned);
  ~Storage();
  Storage(const Storage&) = delete;
  Storage& operator=(const Storage&) = delete;

  void* data() const { return data_; }
  std::size_t nbytes() const { return nbytes_; }
  Device device() const { return device_; }
  bool pinned() const { return pinned_; }

  // Bumped by every in-place write through any view of this storage.
  std::uint64_t version() const { return version_.load(std::memory_order_relaxed); }
  void bump_version() { version_.fetch_add(1, std::memory_order_relaxed); }

 private:
  std::size_t nbytes_ = 0;
  Device device_;
  Allocator* allocator_;
  bool pinned_ = false;
  void* data_ = nullptr;  // allocated last, from allocator_
  std::atomic<std::uint64_t> version_{0};
};

}  // namespace redes
