// The device runtime of a build without the CUDA backend: there are no CUDA
// devices, and every request for one says so.
#include <cstring>

#include "core/cuda.h"
#include "core/cuda_timer.h"
#include "core/error.h"
#include "core/runtime.h"

namespace redes {

namespace cuda {
bool is_available() { return false; }
int device_count() { return 0; }
std::string unavailable_reason() { return "this build of redes has no CUDA backend (REDES_CUDA=OFF)"; }
DeviceProperties properties(int device) {
  detail::fail("cuda::properties(", device, "): ", unavailable_reason());
}
void synchronize(int) {}

EventTimer::EventTimer(int device) : device_(device) {
  detail::fail("cuda::EventTimer(", device, "): ", unavailable_reason());
}
EventTimer::~EventTimer() = default;
void EventTimer::start() { detail::fail("cuda::EventTimer::start: ", unavailable_reason()); }
double EventTimer::stop() { detail::fail("cuda::EventTimer::stop: ", unavailable_reason()); }
}  // namespace cuda

namespace detail {

void require_device(Device device, const char* op) {
  REDES_CHECK(device.is_cpu(), op, ": cannot use ", device.str(), ": ", cuda::unavailable_reason());
}

Allocator& cuda_allocator(int device) {
  fail("cuda:", device, ": ", cuda::unavailable_reason());
}

void copy_bytes(void* dst, Device dst_device, const void* src, Device src_device, std::size_t bytes) {
  require_device(dst_device, "copy");
  require_device(src_device, "copy");
  if (bytes != 0) std::memcpy(dst, src, bytes);
}

void* current_stream(Device) { return nullptr; }

}  // namespace detail
}  // namespace redes
