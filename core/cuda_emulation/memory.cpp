// Device and pinned memory of the emulated runtime, and the copies and
// memsets between them.
//
// Every allocation comes from the host heap at its exact size, so
// AddressSanitizer reports a kernel that reads or writes past a device
// buffer. New memory is filled with 0xFF bytes (NaN as float or double, -1
// as an integer): a kernel that reads memory nobody wrote shows it, where
// zeroed memory would hide it. Copies check their direction against where
// the pointers really live, and that device ranges stay inside their
// allocation, and fail with cudaErrorInvalidValue otherwise.
#include <cstring>
#include <map>
#include <memory>
#include <new>

#include "core/cuda_emulation/emulated_runtime.h"

namespace redes::cuda_emulation {
namespace {

constexpr std::size_t kDeviceAlignment = 256;  // what cudaMalloc promises
constexpr std::size_t kPinnedAlignment = 4096;
constexpr unsigned char kPoisonByte = 0xFF;

std::align_val_t alignment_of(MemoryKind kind) {
  return std::align_val_t(kind == MemoryKind::Device ? kDeviceAlignment : kPinnedAlignment);
}

struct MemoryMap {
  std::mutex mutex;
  std::map<const char*, Allocation> by_base;
  std::size_t device_bytes[kMaxDevices] = {};
};

MemoryMap& memory() {
  static auto* state = new MemoryMap();
  return *state;
}

// Whether [ptr, ptr + bytes) lies in `allocation`, which holds ptr.
bool holds(const Allocation& allocation, const void* ptr, std::size_t bytes) {
  return static_cast<std::size_t>(allocation.base + allocation.bytes - static_cast<const char*>(ptr)) >= bytes;
}

// The allocation whose range holds ptr, with the map locked.
const Allocation* holder(MemoryMap& map, const void* ptr) {
  const auto* address = static_cast<const char*>(ptr);
  auto after = map.by_base.upper_bound(address);
  if (after == map.by_base.begin()) return nullptr;
  const Allocation& candidate = std::prev(after)->second;
  return address < candidate.base + candidate.bytes ? &candidate : nullptr;
}

cudaError_t allocate(void** ptr, std::size_t bytes, MemoryKind kind) {
  if (ptr == nullptr) return cudaErrorInvalidValue;
  *ptr = nullptr;
  const int device = current_device();
  if (const cudaError_t sticky = sticky_error(device); sticky != cudaSuccess) return sticky;
  if (bytes == 0) return cudaSuccess;
  MemoryMap& map = memory();
  {
    std::lock_guard lock(map.mutex);
    if (kind == MemoryKind::Device && map.device_bytes[device] + bytes > device_properties(device).totalGlobalMem) {
      return cudaErrorMemoryAllocation;
    }
  }
  void* memory_block = ::operator new(bytes, alignment_of(kind), std::nothrow);
  if (memory_block == nullptr) return cudaErrorMemoryAllocation;
  std::memset(memory_block, kPoisonByte, bytes);
  std::lock_guard lock(map.mutex);
  auto* base = static_cast<char*>(memory_block);
  map.by_base.emplace(base, Allocation{base, bytes, kind, device});
  if (kind == MemoryKind::Device) map.device_bytes[device] += bytes;
  *ptr = memory_block;
  return cudaSuccess;
}

cudaError_t release(void* ptr, MemoryKind kind) {
  if (ptr == nullptr) return cudaSuccess;
  MemoryMap& map = memory();
  Allocation found;
  {
    std::lock_guard lock(map.mutex);
    const auto entry = map.by_base.find(static_cast<const char*>(ptr));
    if (entry == map.by_base.end() || entry->second.kind != kind) return cudaErrorInvalidValue;
    found = entry->second;
  }
  // As the runtime does: the free waits for the device, so no queued kernel
  // or copy still uses the memory. Pinned memory may feed any device.
  if (kind == MemoryKind::Device) {
    synchronize_device(found.device);
  } else {
    for (int device = 0; device < device_count(); ++device) synchronize_device(device);
  }
  {
    std::lock_guard lock(map.mutex);
    map.by_base.erase(found.base);
    if (kind == MemoryKind::Device) map.device_bytes[found.device] -= found.bytes;
  }
  ::operator delete(found.base, alignment_of(kind));
  return cudaSuccess;
}

// Where a copy's operand lives.
enum class Space { Pageable, Pinned, Device, Invalid };

Space space_of(const void* ptr, std::size_t bytes) {
  MemoryMap& map = memory();
  std::lock_guard lock(map.mutex);
  const Allocation* found = holder(map, ptr);
  if (found == nullptr) return Space::Pageable;
  if (!holds(*found, ptr, bytes)) return Space::Invalid;  // inside an allocation but running past its end
  return found->kind == MemoryKind::Device ? Space::Device : Space::Pinned;
}

bool is_host(Space space) { return space == Space::Pageable || space == Space::Pinned; }

bool direction_matches(cudaMemcpyKind kind, Space dst, Space src) {
  switch (kind) {
    case cudaMemcpyHostToHost: return is_host(dst) && is_host(src);
    case cudaMemcpyHostToDevice: return dst == Space::Device && is_host(src);
    case cudaMemcpyDeviceToHost: return is_host(dst) && src == Space::Device;
    case cudaMemcpyDeviceToDevice: return dst == Space::Device && src == Space::Device;
    case cudaMemcpyDefault: return dst != Space::Invalid && src != Space::Invalid;
  }
  return false;
}

// Queues `work` on `stream` and, when `wait`, waits for it (a capture
// records the work instead, and there is nothing to wait for).
cudaError_t run_on_stream(CUstream_st& stream, std::function<void()> work, bool wait) {
  std::uint64_t position = 0;
  if (const cudaError_t status = enqueue(stream, std::move(work), &position); status != cudaSuccess) return status;
  if (!wait) return cudaSuccess;
  stream.wait_for(position);
  return sticky_error(stream.device);
}

// The stream `handle` names, in *stream, unless it names none or its device has failed.
cudaError_t usable_stream(cudaStream_t handle, CUstream_st** stream) {
  *stream = resolve_stream(handle);
  if (*stream == nullptr) return cudaErrorInvalidResourceHandle;
  return sticky_error((*stream)->device);
}

// Copies as the runtime documents for each kind of memory: from pageable
// host memory, the source is staged at the call, so the caller may reuse it
// at once; into pageable host memory, the call returns once the copy is
// done; between pinned and device memory, the copy is fully asynchronous.
// A captured copy is a graph's memcpy node: each replay copies from its
// source as it is then, so nothing is staged or copied at the call.
cudaError_t copy(void* dst, const void* src, std::size_t bytes, cudaMemcpyKind kind, cudaStream_t handle,
                 bool synchronous) {
  if (bytes == 0) return cudaSuccess;
  if (dst == nullptr || src == nullptr) return cudaErrorInvalidValue;
  const Space dst_space = space_of(dst, bytes);
  const Space src_space = space_of(src, bytes);
  if (!direction_matches(kind, dst_space, src_space)) return cudaErrorInvalidValue;
  CUstream_st* stream = nullptr;
  if (const cudaError_t status = usable_stream(handle, &stream); status != cudaSuccess) return status;
  const bool captured = stream->capture.status() != cudaStreamCaptureStatusNone;
  if (dst_space != Space::Device && src_space != Space::Device && !captured) {
    std::memcpy(dst, src, bytes);
    return cudaSuccess;
  }
  const bool wait = synchronous || dst_space == Space::Pageable;
  if (src_space == Space::Pageable && !captured) {
    auto staged = std::make_shared<std::vector<unsigned char>>(static_cast<const unsigned char*>(src),
                                                               static_cast<const unsigned char*>(src) + bytes);
    return run_on_stream(*stream, [dst, staged] { std::memcpy(dst, staged->data(), staged->size()); }, wait);
  }
  return run_on_stream(*stream, [dst, src, bytes] { std::memcpy(dst, src, bytes); }, wait);
}

cudaError_t set(void* ptr, int value, std::size_t bytes, cudaStream_t handle, bool synchronous) {
  if (bytes == 0) return cudaSuccess;
  if (ptr == nullptr || space_of(ptr, bytes) != Space::Device) return cudaErrorInvalidValue;
  CUstream_st* stream = nullptr;
  if (const cudaError_t status = usable_stream(handle, &stream); status != cudaSuccess) return status;
  return run_on_stream(*stream, [ptr, value, bytes] { std::memset(ptr, value, bytes); }, synchronous);
}

}  // namespace

std::optional<Allocation> find_allocation(const void* ptr, std::size_t bytes) {
  MemoryMap& map = memory();
  std::lock_guard lock(map.mutex);
  const Allocation* found = holder(map, ptr);
  if (found == nullptr || !holds(*found, ptr, bytes)) return std::nullopt;
  return *found;
}

}  // namespace redes::cuda_emulation

using namespace redes::cuda_emulation;

extern "C" {

// Allocating and freeing are not stream work, so a capture cannot record
// them: they are unsafe in capture (refuse_unsafe_call). cudaFree waits for
// the device, which does not include the work a capture holds.
cudaError_t cudaMalloc(void** ptr, std::size_t bytes) {
  if (const cudaError_t refused = refuse_unsafe_call(); refused != cudaSuccess) return record_error(refused);
  return record_error(allocate(ptr, bytes, MemoryKind::Device));
}

cudaError_t cudaFree(void* ptr) {
  if (const cudaError_t refused = refuse_unsafe_call(); refused != cudaSuccess) return record_error(refused);
  return record_error(release(ptr, MemoryKind::Device));
}

cudaError_t cudaHostAlloc(void** ptr, std::size_t bytes, unsigned int flags) {
  constexpr unsigned kKnown = cudaHostAllocPortable | cudaHostAllocMapped | cudaHostAllocWriteCombined;
  if ((flags & ~kKnown) != 0) return record_error(cudaErrorInvalidValue);
  return record_error(allocate(ptr, bytes, MemoryKind::Pinned));
}

cudaError_t cudaMallocHost(void** ptr, std::size_t bytes) { return cudaHostAlloc(ptr, bytes, cudaHostAllocDefault); }

cudaError_t cudaFreeHost(void* ptr) { return record_error(release(ptr, MemoryKind::Pinned)); }

cudaError_t cudaMemGetInfo(std::size_t* free_bytes, std::size_t* total_bytes) {
  if (free_bytes == nullptr || total_bytes == nullptr) return record_error(cudaErrorInvalidValue);
  const int device = current_device();
  MemoryMap& map = memory();
  std::lock_guard lock(map.mutex);
  *total_bytes = device_properties(device).totalGlobalMem;
  *free_bytes = *total_bytes - map.device_bytes[device];
  return cudaSuccess;
}

// The synchronous copy and memset wait for the device, which is unsafe in
// capture; on the legacy stream, they also cannot run while a blocking
// stream captures (enqueue refuses that).
cudaError_t cudaMemcpy(void* dst, const void* src, std::size_t bytes, cudaMemcpyKind kind) {
  if (const cudaError_t refused = refuse_unsafe_call(); refused != cudaSuccess) return record_error(refused);
  return record_error(copy(dst, src, bytes, kind, nullptr, true));
}

cudaError_t cudaMemcpyAsync(void* dst, const void* src, std::size_t bytes, cudaMemcpyKind kind, cudaStream_t stream) {
  return record_error(copy(dst, src, bytes, kind, stream, false));
}

cudaError_t cudaMemcpyPeerAsync(void* dst, int dst_device, const void* src, int src_device, std::size_t bytes,
                                cudaStream_t stream) {
  if (!valid_device(dst_device) || !valid_device(src_device)) return record_error(cudaErrorInvalidDevice);
  if (bytes == 0) return cudaSuccess;
  const std::optional<Allocation> to = find_allocation(dst, bytes);
  const std::optional<Allocation> from = find_allocation(src, bytes);
  if (!to || !from || to->kind != MemoryKind::Device || from->kind != MemoryKind::Device ||
      to->device != dst_device || from->device != src_device) {
    return record_error(cudaErrorInvalidValue);
  }
  return record_error(copy(dst, src, bytes, cudaMemcpyDeviceToDevice, stream, false));
}

cudaError_t cudaMemset(void* ptr, int value, std::size_t bytes) {
  if (const cudaError_t refused = refuse_unsafe_call(); refused != cudaSuccess) return record_error(refused);
  return record_error(set(ptr, value, bytes, nullptr, true));
}

cudaError_t cudaMemsetAsync(void* ptr, int value, std::size_t bytes, cudaStream_t stream) {
  return record_error(set(ptr, value, bytes, stream, false));
}

}  // extern "C"
