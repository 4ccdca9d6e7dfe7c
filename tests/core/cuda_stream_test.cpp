// Streams, events, pinned copies and the caching device allocator on a real
// GPU. Every test skips where no CUDA device can be used (and fails with
// REDES_REQUIRE_CUDA=1); cuda_unavailable_test and block_cache_test cover
// what can be checked without one.
#include <gtest/gtest.h>

#include <cmath>
#include <string>
#include <thread>
#include <vector>

#include "support/test_support.h"

namespace redes {
namespace {

const Device kCuda = Device::cuda(0);
constexpr std::size_t kMiB = std::size_t{1} << 20;

// Enough queued work that a stream is still busy right after the launch.
Tensor busy_work(const Tensor& a) {
  Tensor x = a;
  for (int i = 0; i < 8; ++i) x = matmul(x, a);
  return x;
}

TEST(CudaStreamTest, CreatedStreamsAreDistinctAndFinishTheirWork) {
  REDES_REQUIRE_DEVICE(kCuda);
  const cuda::Stream stream = cuda::Stream::create(0);
  EXPECT_EQ(stream.device(), 0);
  EXPECT_NE(stream.handle(), nullptr);
  EXPECT_FALSE(stream == cuda::Stream::default_stream(0));
  EXPECT_FALSE(stream == cuda::Stream::create(0));
  EXPECT_TRUE(stream.query());  // nothing queued yet
  {
    cuda::StreamGuard guard(stream);
    const Tensor a = testing::random_tensor({512, 512}, 1, {kFloat32, kCuda});
    const Tensor result = busy_work(a);
    stream.synchronize();
    EXPECT_TRUE(stream.query());
  }
}

TEST(CudaStreamTest, GuardSetsAndRestoresTheCurrentStream) {
  REDES_REQUIRE_DEVICE(kCuda);
  const cuda::Stream base = cuda::Stream::default_stream(0);
  ASSERT_TRUE(cuda::Stream::current(0) == base);
  const cuda::Stream outer = cuda::Stream::create(0);
  const cuda::Stream inner = cuda::Stream::create(0);
  {
    cuda::StreamGuard outer_guard(outer);
    EXPECT_TRUE(cuda::Stream::current(0) == outer);
    {
      cuda::StreamGuard inner_guard(inner);
      EXPECT_TRUE(cuda::Stream::current(0) == inner);
      // The current stream is per thread: another thread still sees the default.
      bool other_thread_sees_default = false;
      std::thread([&] { other_thread_sees_default = cuda::Stream::current(0) == base; }).join();
      EXPECT_TRUE(other_thread_sees_default);
    }
    EXPECT_TRUE(cuda::Stream::current(0) == outer);
  }
  EXPECT_TRUE(cuda::Stream::current(0) == base);
}

TEST(CudaStreamTest, OpsOnAGuardedStreamComputeTheSameValues) {
  REDES_REQUIRE_DEVICE(kCuda);
  const Tensor host = testing::random_tensor({64, 32}, 2);
  const std::vector<double> expected = testing::host_values(host * 2.0 + 1.0);
  const cuda::Stream stream = cuda::Stream::create(0);
  cuda::StreamGuard guard(stream);
  const Tensor device_result = host.to(kCuda) * 2.0 + 1.0;
  // The copy back runs on the same (current) stream, after the ops.
  EXPECT_TRUE(testing::all_close(device_result, expected, 1e-6, 1e-6));
}

TEST(CudaStreamTest, StreamWaitsForAnEventRecordedOnAnother) {
  REDES_REQUIRE_DEVICE(kCuda);
  const cuda::Stream producer = cuda::Stream::create(0);
  const cuda::Stream consumer = cuda::Stream::create(0);
  const Tensor a = testing::random_tensor({512, 512}, 3, {kFloat32, kCuda}, -0.05, 0.05);
  cuda::synchronize(0);
  Tensor produced;
  cuda::Event ready(0);
  {
    cuda::StreamGuard guard(producer);
    produced = busy_work(a);
    ready.record();
  }
  consumer.wait(ready);
  cuda::StreamGuard guard(consumer);
  const Tensor total = produced.sum();
  const double on_consumer = total.item();
  producer.synchronize();
  EXPECT_NEAR(on_consumer, produced.sum().item(), 1e-3 * (1.0 + std::abs(on_consumer)));
}

TEST(CudaEventTest, RecordQuerySynchronizeAndElapsedTime) {
  REDES_REQUIRE_DEVICE(kCuda);
  cuda::Event start(0, true), end(0, true);
  EXPECT_TRUE(start.timing_enabled());
  EXPECT_TRUE(start.query());  // never recorded: complete, as in CUDA
  const Tensor a = testing::random_tensor({1024, 1024}, 4, {kFloat32, kCuda}, -0.02, 0.02);
  start.record();
  const Tensor result = busy_work(a);
  end.record(cuda::Stream::current(0));
  end.synchronize();
  EXPECT_TRUE(end.query());
  const float ms = start.elapsed_ms(end);
  EXPECT_GT(ms, 0.0f);
  EXPECT_LT(ms, 60000.0f);
}

TEST(CudaEventTest, ElapsedTimeNeedsTimingAndRecordedEvents) {
  REDES_REQUIRE_DEVICE(kCuda);
  cuda::Event plain(0), timed(0, true), unrecorded(0, true);
  EXPECT_FALSE(plain.timing_enabled());
  plain.record();
  timed.record();
  try {
    plain.elapsed_ms(timed);
    ADD_FAILURE() << "expected an error";
  } catch (const Error& error) {
    EXPECT_NE(std::string(error.what()).find("start event has timing disabled"), std::string::npos) << error.what();
  }
  try {
    timed.elapsed_ms(unrecorded);
    ADD_FAILURE() << "expected an error";
  } catch (const Error& error) {
    EXPECT_NE(std::string(error.what()).find("end event was never recorded"), std::string::npos) << error.what();
  }
}

TEST(CudaPinnedTest, PinMemoryCopiesIntoPageLockedMemory) {
  REDES_REQUIRE_DEVICE(kCuda);
  const Tensor host = testing::random_tensor({16, 8}, 5).t();  // not contiguous
  const Tensor pinned = host.pin_memory();
  EXPECT_TRUE(pinned.is_pinned());
  EXPECT_FALSE(host.is_pinned());
  EXPECT_TRUE(pinned.device().is_cpu());
  EXPECT_TRUE(pinned.is_contiguous());
  EXPECT_TRUE(testing::all_close(pinned, testing::host_values(host), 0, 0));
  EXPECT_EQ(pinned.pin_memory().data_ptr(), pinned.data_ptr());  // already pinned: itself
  EXPECT_FALSE(pinned.clone().is_pinned());  // ordinary copies are pageable
}

TEST(CudaPinnedTest, NonBlockingCopyFromPinnedMemoryArrivesInStreamOrder) {
  REDES_REQUIRE_DEVICE(kCuda);
  const Tensor host = testing::random_tensor({256, 1024}, 6);
  const std::vector<double> expected = testing::host_values(host);
  const cuda::Stream stream = cuda::Stream::create(0);
  cuda::StreamGuard guard(stream);
  Tensor on_device;
  {
    const Tensor pinned = host.pin_memory();
    on_device = pinned.to(kCuda, true);
    // The pinned tensor dies here, possibly before the copy ran: its block
    // must wait for the copy before going back to the system.
  }
  const Tensor doubled = on_device * 2.0;  // queued behind the copy on the same stream
  stream.synchronize();
  EXPECT_TRUE(testing::all_close(on_device, expected, 0, 0));
  std::vector<double> twice = expected;
  for (double& value : twice) value *= 2.0;
  EXPECT_TRUE(testing::all_close(doubled, twice, 0, 0));
}

// Staging a batch in pinned memory every step must not page-lock memory
// every step: once the copy that read a freed block is done, the next
// request of that size gets the block back.
TEST(CudaPinnedTest, FreedPinnedBlocksAreReusedOnceTheirCopiesAreDone) {
  REDES_REQUIRE_DEVICE(kCuda);
  const cuda::Stream stream = cuda::Stream::create(0);
  cuda::StreamGuard guard(stream);
  const Tensor host = testing::random_tensor({64, 1000}, 8);
  Allocator& pinned = pinned_memory_allocator();
  void* first = nullptr;
  Tensor on_device;
  {
    const Tensor staged = host.pin_memory();
    first = staged.data_ptr();
    on_device = staged.to(kCuda, true);
  }
  stream.synchronize();  // the copy has read the block
  const AllocatorStats before = pinned.stats();
  const Tensor again = host.pin_memory();
  EXPECT_EQ(again.data_ptr(), first);
  EXPECT_EQ(pinned.stats().cache_hits - before.cache_hits, 1u);
  EXPECT_EQ(pinned.stats().system_allocations, before.system_allocations);
  EXPECT_TRUE(testing::all_close(on_device, testing::host_values(host), 0, 0));
}

TEST(CudaPinnedTest, PageableNonBlockingCopyIsSynchronous) {
  REDES_REQUIRE_DEVICE(kCuda);
  const Tensor host = testing::random_tensor({100}, 7);
  const Tensor on_device = host.to(kCuda, true);  // pageable: falls back to a synchronous copy
  EXPECT_TRUE(cuda::Stream::current(0).query());
  EXPECT_TRUE(testing::all_close(on_device, testing::host_values(host), 0, 0));
}

TEST(CudaAllocatorTest, FreedBlocksAreReusedWithoutCudaMalloc) {
  REDES_REQUIRE_DEVICE(kCuda);
  Allocator& allocator = allocator_for(kCuda);
  const cuda::Stream stream = cuda::Stream::create(0);
  cuda::StreamGuard guard(stream);
  // A new stream may reuse the handle of one an earlier test destroyed, and
  // with it that stream's cached blocks: return them first.
  allocator.empty_cache();
  const AllocatorStats before = allocator.stats();
  void* first = nullptr;
  {
    const Tensor t = empty({1000, 256}, {kFloat32, kCuda});  // 1,024,000 bytes: a small block
    first = t.data_ptr();
  }
  const Tensor again = empty({1000, 256}, {kFloat32, kCuda});
  EXPECT_EQ(again.data_ptr(), first);
  const AllocatorStats after = allocator.stats();
  EXPECT_EQ(after.system_allocations - before.system_allocations, 1u);
  EXPECT_EQ(after.cache_hits - before.cache_hits, 1u);
  EXPECT_EQ(after.allocations - before.allocations, 2u);
  EXPECT_EQ(after.live_bytes - before.live_bytes, 1000u * 256u * 4u);
}

TEST(CudaAllocatorTest, BlocksAreNotSharedAcrossStreams) {
  REDES_REQUIRE_DEVICE(kCuda);
  const cuda::Stream one = cuda::Stream::create(0);
  const cuda::Stream two = cuda::Stream::create(0);
  void* on_one = nullptr;
  {
    cuda::StreamGuard guard(one);
    on_one = empty({4096}, {kFloat32, kCuda}).data_ptr();
  }
  cuda::StreamGuard guard(two);
  const Tensor on_two = empty({4096}, {kFloat32, kCuda});
  EXPECT_NE(on_two.data_ptr(), on_one);
}

TEST(CudaAllocatorTest, EmptyCacheReturnsFreeSegmentsToTheDevice) {
  REDES_REQUIRE_DEVICE(kCuda);
  Allocator& allocator = allocator_for(kCuda);
  const cuda::Stream stream = cuda::Stream::create(0);
  cuda::StreamGuard guard(stream);  // no partly used segment of this stream can serve the request
  allocator.empty_cache();
  const AllocatorStats before = allocator.stats();
  { const Tensor big = empty({static_cast<std::int64_t>(16 * kMiB / 4)}, {kFloat32, kCuda}); }
  AllocatorStats stats = allocator.stats();
  EXPECT_EQ(stats.reserved_bytes - before.reserved_bytes, 16 * kMiB);  // its own segment
  EXPECT_EQ(stats.cached_bytes - before.cached_bytes, 16 * kMiB);
  allocator.empty_cache();
  stats = allocator.stats();
  EXPECT_EQ(stats.reserved_bytes, before.reserved_bytes);
  EXPECT_EQ(stats.system_frees - before.system_frees, 1u);
}

TEST(CudaAllocatorTest, OutOfMemoryNamesTheRequestAndTheStatistics) {
  REDES_REQUIRE_DEVICE(kCuda);
  const std::int64_t huge = std::int64_t{1} << 48;  // 1 PiB of float32: more than any GPU
  try {
    const Tensor t = empty({huge}, {kFloat32, kCuda});
    ADD_FAILURE() << "expected an out-of-memory error";
  } catch (const Error& error) {
    const std::string message = error.what();
    EXPECT_NE(message.find("cuda:0 allocator: out of memory allocating " + std::to_string(huge * 4) + " bytes"),
              std::string::npos)
        << message;
    EXPECT_NE(message.find("bytes reserved"), std::string::npos) << message;
    EXPECT_NE(message.find("the device has"), std::string::npos) << message;
  }
  // The failure left the device usable.
  EXPECT_TRUE(testing::all_close(ones({3}, {kFloat32, kCuda}), {1, 1, 1}, 0, 0));
}

}  // namespace
}  // namespace redes
