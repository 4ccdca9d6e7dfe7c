// The device runtime of a build without the CUDA backend: there are no CUDA
// devices, and every request for one (a stream, an event, pinned memory)
// says so. No Stream or Event can exist here, so their accessors only
// repeat the reason.
#include <cstring>

#include "core/cuda.h"
#include "core/cuda_graph.h"
#include "core/cuda_stream.h"
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

namespace {
[[noreturn]] void unusable(const char* op, int device) {
  detail::fail(op, ": cannot use cuda:", device, ": ", unavailable_reason());
}
}  // namespace

Graph::Graph(std::shared_ptr<State> state) : state_(std::move(state)) {}
Graph Graph::capture(int device, const std::function<void()>&) { unusable("Graph::capture", device); }
void Graph::replay() const { unusable("Graph::replay", 0); }
int Graph::device() const { unusable("Graph::device", 0); }
bool capture_in_progress() { return false; }

Stream::Stream(std::shared_ptr<State> state) : state_(std::move(state)) {}
Stream Stream::create(int device) { unusable("Stream::create", device); }
Stream Stream::default_stream(int device) { unusable("Stream::default_stream", device); }
Stream Stream::current(int device) { unusable("Stream::current", device); }
void Stream::set_current(const Stream&) { unusable("Stream::set_current", 0); }
int Stream::device() const { unusable("Stream::device", 0); }
void* Stream::handle() const { unusable("Stream::handle", 0); }
void Stream::synchronize() const { unusable("Stream::synchronize", 0); }
bool Stream::query() const { unusable("Stream::query", 0); }
void Stream::wait(const Event&) const { unusable("Stream::wait", 0); }

StreamGuard::StreamGuard(const Stream& stream) : previous_(stream) { unusable("StreamGuard", 0); }
StreamGuard::~StreamGuard() = default;

Event::Event(int device, bool) { unusable("Event", device); }
int Event::device() const { unusable("Event::device", 0); }
bool Event::timing_enabled() const { unusable("Event::timing_enabled", 0); }
void Event::record(const Stream&) { unusable("Event::record", 0); }
void Event::record() { unusable("Event::record", 0); }
void Event::synchronize() const { unusable("Event::synchronize", 0); }
bool Event::query() const { unusable("Event::query", 0); }
float Event::elapsed_ms(const Event&) const { unusable("Event::elapsed_ms", 0); }
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

void copy_to_device_async(void* dst, Device dst_device, const void* pinned_src, std::size_t bytes) {
  copy_bytes(dst, dst_device, pinned_src, Device::cpu(), bytes);
}

Allocator& pinned_allocator() {
  fail("pin_memory: page-locked host memory needs a usable CUDA device: ", cuda::unavailable_reason());
}

void* current_stream(Device) { return nullptr; }

}  // namespace detail
}  // namespace redes
