// The emulated CUDA device's own tests (the cuda-emulated presets only).
// Each checks one thing the emulation promises, with a kernel or a call that
// gives a different result, or a different error, without that feature.
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <functional>
#include <numeric>
#include <semaphore>
#include <string>
#include <thread>
#include <vector>

#include <redes.h>

#include "core/cuda/check.h"
#include "core/cuda_emulation/fiber_sanitizer.h"
#include "kernels/cuda/launch.cuh"

namespace redes {
namespace {

constexpr int kBlock = 256;

// A device buffer of n values of T, freed at scope exit.
template <class T>
class DeviceBuffer {
 public:
  explicit DeviceBuffer(std::size_t n) : n_(n) { REDES_CUDA_CHECK(cudaMalloc(&data_, n * sizeof(T)), "test"); }
  DeviceBuffer(const std::vector<T>& values) : DeviceBuffer(values.size()) {
    REDES_CUDA_CHECK(cudaMemcpy(data_, values.data(), n_ * sizeof(T), cudaMemcpyHostToDevice), "test");
  }
  ~DeviceBuffer() { cudaFree(data_); }
  DeviceBuffer(const DeviceBuffer&) = delete;
  DeviceBuffer& operator=(const DeviceBuffer&) = delete;

  T* get() const { return data_; }
  std::vector<T> read() const {
    std::vector<T> values(n_);
    REDES_CUDA_CHECK(cudaMemcpy(values.data(), data_, n_ * sizeof(T), cudaMemcpyDeviceToHost), "test");
    return values;
  }

 private:
  std::size_t n_;
  T* data_ = nullptr;
};

// One block sums its 256 inputs in shared memory by halving strides. With
// `barrier_after_store` false, the first __syncthreads() is left out, so
// threads read partners' slots before the partners have written them.
__global__ void block_sum_kernel(float* out, const float* in, bool barrier_after_store) {
  __shared__ float partial[kBlock];
  const unsigned tid = threadIdx.x;
  partial[tid] = in[blockIdx.x * kBlock + tid];
  if (barrier_after_store) __syncthreads();
  for (unsigned stride = kBlock / 2; stride > 0; stride /= 2) {
    if (tid < stride) partial[tid] += partial[tid + stride];
    __syncthreads();
  }
  if (tid == 0) out[blockIdx.x] = partial[0];
}

std::vector<float> block_sums(bool barrier_after_store, const std::vector<float>& values, int blocks) {
  const DeviceBuffer<float> in(values);
  DeviceBuffer<float> out(static_cast<std::size_t>(blocks));
  REDES_CUDA_CHECK(cuda::launch(block_sum_kernel, dim3(static_cast<unsigned>(blocks)), dim3(kBlock), 0, nullptr,
                                out.get(), in.get(), barrier_after_store),
                   "block_sum");
  return out.read();
}

TEST(CudaEmulation, BlockReductionWithItsBarriersIsExact) {
  const int blocks = 8;
  std::vector<float> values(static_cast<std::size_t>(blocks * kBlock));
  std::iota(values.begin(), values.end(), 1.0f);
  const std::vector<float> sums = block_sums(true, values, blocks);
  for (int b = 0; b < blocks; ++b) {
    const double first = b * kBlock + 1.0, last = (b + 1) * kBlock;
    EXPECT_EQ(sums[static_cast<std::size_t>(b)], static_cast<float>((first + last) * kBlock / 2)) << "block " << b;
  }
}

TEST(CudaEmulation, BlockReductionMissingABarrierGivesWrongSums) {
  const int blocks = 8;
  std::vector<float> values(static_cast<std::size_t>(blocks * kBlock));
  std::iota(values.begin(), values.end(), 1.0f);
  const std::vector<float> right = block_sums(true, values, blocks);
  const std::vector<float> wrong = block_sums(false, values, blocks);
  int differing = 0;
  for (int b = 0; b < blocks; ++b) differing += right[static_cast<std::size_t>(b)] != wrong[static_cast<std::size_t>(b)];
  EXPECT_GT(differing, 0) << "every block summed correctly without the barrier after the stores";
}

__device__ int larger(int a, int b) { return a > b ? a : b; }

// Warp-level sums and votes over a 64-thread block (two warps).
__global__ void warp_kernel(int* sums, int* broadcasts, unsigned* ballots, int* votes, int* segments) {
  const int lane = static_cast<int>(threadIdx.x % warpSize);
  const int warp = static_cast<int>(threadIdx.x / warpSize);
  int value = static_cast<int>(threadIdx.x) + 1;
  for (int offset = warpSize / 2; offset > 0; offset /= 2) value += __shfl_down_sync(0xffffffffu, value, offset);
  if (lane == 0) sums[warp] = value;
  int largest = static_cast<int>(threadIdx.x);
  for (int mask = 1; mask < warpSize; mask *= 2) largest = larger(largest, __shfl_xor_sync(0xffffffffu, largest, mask));
  broadcasts[threadIdx.x] = __shfl_sync(0xffffffffu, largest - static_cast<int>(threadIdx.x), 3);
  ballots[threadIdx.x] = __ballot_sync(0xffffffffu, lane % 3 == 0);
  votes[threadIdx.x] = __any_sync(0xffffffffu, lane == 5) + 2 * __all_sync(0xffffffffu, lane < 20);
  // Width 8: each group of 8 lanes shifts up within itself.
  segments[threadIdx.x] = __shfl_up_sync(0xffffffffu, lane, 1, 8);
}

TEST(CudaEmulation, WarpShufflesAndVotesFollowTheProgrammingGuide) {
  constexpr int threads = 64;
  DeviceBuffer<int> sums(2), broadcasts(threads), votes(threads), segments(threads);
  DeviceBuffer<unsigned> ballots(threads);
  REDES_CUDA_CHECK(cuda::launch(warp_kernel, dim3(1), dim3(threads), 0, nullptr, sums.get(), broadcasts.get(),
                                ballots.get(), votes.get(), segments.get()),
                   "warp");
  EXPECT_EQ(sums.read(), (std::vector<int>{32 * 33 / 2, 64 * 65 / 2 - 32 * 33 / 2}));
  unsigned every_third = 0;
  for (int lane = 0; lane < 32; lane += 3) every_third |= 1u << lane;
  const std::vector<int> broadcast = broadcasts.read(), vote = votes.read(), segment = segments.read();
  const std::vector<unsigned> ballot = ballots.read();
  for (int t = 0; t < threads; ++t) {
    const int lane = t % 32;
    EXPECT_EQ(broadcast[static_cast<std::size_t>(t)], 28) << "thread " << t;  // lane 3 holds (31 - 3)
    EXPECT_EQ(ballot[static_cast<std::size_t>(t)], every_third) << "thread " << t;
    EXPECT_EQ(vote[static_cast<std::size_t>(t)], 1) << "thread " << t;  // some lane is 5; not all lanes < 20
    EXPECT_EQ(segment[static_cast<std::size_t>(t)], lane % 8 == 0 ? lane : lane - 1) << "thread " << t;
  }
}

__global__ void empty_kernel() {}

TEST(CudaEmulation, LaunchLimitsAreRefusedWithTheDriversErrors) {
  const auto launch_status = [](dim3 grid, dim3 block, std::size_t shared) {
    return cuda::launch(empty_kernel, grid, block, shared, nullptr);
  };
  EXPECT_EQ(launch_status(dim3(1), dim3(2048), 0), cudaErrorInvalidConfiguration);
  EXPECT_EQ(launch_status(dim3(1), dim3(32, 32, 2), 0), cudaErrorInvalidConfiguration);
  EXPECT_EQ(launch_status(dim3(1), dim3(1, 1, 65), 0), cudaErrorInvalidConfiguration);
  EXPECT_EQ(launch_status(dim3(1, 65536), dim3(1), 0), cudaErrorInvalidConfiguration);
  EXPECT_EQ(launch_status(dim3(0), dim3(1), 0), cudaErrorInvalidConfiguration);
  EXPECT_EQ(launch_status(dim3(1), dim3(1024), 0), cudaSuccess);
  // Dynamic shared memory: 48 KiB unless the kernel opted in, 227 KiB at most.
  EXPECT_EQ(launch_status(dim3(1), dim3(1), (48 << 10) + 4), cudaErrorInvalidConfiguration);
  EXPECT_EQ(cudaFuncSetAttribute(empty_kernel, cudaFuncAttributeMaxDynamicSharedMemorySize, 100 << 10), cudaSuccess);
  EXPECT_EQ(launch_status(dim3(1), dim3(1), 100 << 10), cudaSuccess);
  EXPECT_EQ(launch_status(dim3(1), dim3(1), (100 << 10) + 4), cudaErrorInvalidConfiguration);
  EXPECT_EQ(cudaFuncSetAttribute(empty_kernel, cudaFuncAttributeMaxDynamicSharedMemorySize, (227 << 10) + 4),
            cudaErrorInvalidValue);
  cudaGetLastError();
  // The attributes kernels size themselves by agree with the properties.
  cudaDeviceProp prop{};
  ASSERT_EQ(cudaGetDeviceProperties(&prop, 0), cudaSuccess);
  int value = 0;
  ASSERT_EQ(cudaDeviceGetAttribute(&value, cudaDevAttrMaxSharedMemoryPerBlockOptin, 0), cudaSuccess);
  EXPECT_EQ(value, 227 << 10);
  EXPECT_EQ(static_cast<std::size_t>(value), prop.sharedMemPerBlockOptin);
  ASSERT_EQ(cudaDeviceGetAttribute(&value, cudaDevAttrMultiProcessorCount, 0), cudaSuccess);
  EXPECT_EQ(value, prop.multiProcessorCount);
  EXPECT_EQ(cudaDeviceGetAttribute(&value, cudaDevAttrMultiProcessorCount, 99), cudaErrorInvalidDevice);
  cudaGetLastError();
  ASSERT_EQ(cudaDeviceSynchronize(), cudaSuccess);
  // Through the library's check, the error names the op, the call and CUDA's error.
  try {
    REDES_CUDA_CHECK(launch_status(dim3(1), dim3(2048), 0), "test_op");
    FAIL() << "a 2048-thread block was launched";
  } catch (const Error& error) {
    EXPECT_NE(std::string(error.what()).find("test_op: CUDA error cudaErrorInvalidConfiguration"), std::string::npos)
        << error.what();
  }
}

#if defined(REDES_EMULATION_ASAN)
__global__ void write_up_to_kernel(float* out, int last) {
  const int i = static_cast<int>(blockIdx.x * blockDim.x + threadIdx.x);
  if (i <= last) out[i] = 1.0f;
}
#endif

TEST(CudaEmulation, AWriteOnePastADeviceBufferIsReportedByAddressSanitizer) {
#if !defined(REDES_EMULATION_ASAN)
  GTEST_SKIP() << "needs AddressSanitizer: the cuda-emulated-asan preset runs it";
#else
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  EXPECT_DEATH(
      {
        float* data = nullptr;
        cudaMalloc(&data, 10 * sizeof(float));
        cuda::launch(write_up_to_kernel, dim3(1), dim3(32), 0, nullptr, data, 10);  // element 10 is one past
        cudaDeviceSynchronize();
      },
      "heap-buffer-overflow");
#endif
}

// Holds its stream until the host sets *release (pinned memory).
__global__ void wait_for_release_kernel(int* release) {
  while (atomicAdd(release, 0) == 0) __nanosleep(100'000);
}

__global__ void copy_kernel(float* out, const float* in, int n) {
  const int i = static_cast<int>(blockIdx.x * blockDim.x + threadIdx.x);
  if (i < n) out[i] = in[i];
}

// The producer stream waits for the host, then copies values into
// `staging`; the consumer stream copies `staging` out, ordered after the
// producer's copy by an event or not at all. Without the event, the consumer
// finishes before the host releases the producer.
std::vector<float> consume_while_producing(bool with_event) {
  constexpr int n = 1000;
  cudaStream_t producer = nullptr, consumer = nullptr;
  REDES_CUDA_CHECK(cudaStreamCreateWithFlags(&producer, cudaStreamNonBlocking), "test");
  REDES_CUDA_CHECK(cudaStreamCreateWithFlags(&consumer, cudaStreamNonBlocking), "test");
  float* source = nullptr;
  int* release = nullptr;
  REDES_CUDA_CHECK(cudaHostAlloc(&source, n * sizeof(float), cudaHostAllocPortable), "test");
  REDES_CUDA_CHECK(cudaHostAlloc(&release, sizeof(int), cudaHostAllocPortable), "test");
  for (int i = 0; i < n; ++i) source[i] = static_cast<float>(i);
  std::atomic_ref<int>(*release).store(0);
  DeviceBuffer<float> staging(n), out(n);
  REDES_CUDA_CHECK(cuda::launch(wait_for_release_kernel, dim3(1), dim3(1), 0, producer, release), "test");
  REDES_CUDA_CHECK(cudaMemcpyAsync(staging.get(), source, n * sizeof(float), cudaMemcpyHostToDevice, producer), "test");
  cudaEvent_t copied = nullptr;
  REDES_CUDA_CHECK(cudaEventCreateWithFlags(&copied, cudaEventDisableTiming), "test");
  if (with_event) {
    REDES_CUDA_CHECK(cudaEventRecord(copied, producer), "test");
    REDES_CUDA_CHECK(cudaStreamWaitEvent(consumer, copied, 0), "test");
  }
  REDES_CUDA_CHECK(cuda::launch(copy_kernel, dim3((n + kBlock - 1) / kBlock), dim3(kBlock), 0, consumer, out.get(),
                                staging.get(), n),
                   "test");
  if (!with_event) REDES_CUDA_CHECK(cudaStreamSynchronize(consumer), "test");
  std::atomic_ref<int>(*release).store(1);
  REDES_CUDA_CHECK(cudaStreamSynchronize(consumer), "test");
  REDES_CUDA_CHECK(cudaStreamSynchronize(producer), "test");
  cudaEventDestroy(copied);
  cudaStreamDestroy(producer);
  cudaStreamDestroy(consumer);
  cudaFreeHost(source);
  cudaFreeHost(release);
  return out.read();
}

TEST(CudaEmulation, ReadingAnotherStreamsCopyWithoutAnEventGetsStaleData) {
  const std::vector<float> unordered = consume_while_producing(false);
  EXPECT_TRUE(std::isnan(unordered[0])) << "the consumer read " << unordered[0]
                                        << ", not the fresh buffer's NaN, before the producer's copy ran";
  const std::vector<float> ordered = consume_while_producing(true);
  for (int i = 0; i < 1000; ++i) ASSERT_EQ(ordered[static_cast<std::size_t>(i)], static_cast<float>(i));
}

__global__ void early_return_kernel(float* out) {
  if (threadIdx.x >= 100) return;
  __syncthreads();
  out[threadIdx.x] = 1.0f;
}

TEST(CudaEmulation, ABarrierSomeThreadsReturnedBeforeFailsTheLaunch) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  EXPECT_EXIT(
      {
        float* data = nullptr;
        cudaMalloc(&data, 128 * sizeof(float));
        cuda::launch(early_return_kernel, dim3(1), dim3(128), 0, nullptr, data);
        const bool failed = cudaDeviceSynchronize() == cudaErrorLaunchFailure;
        const bool sticky = cudaMemset(data, 0, 4) == cudaErrorLaunchFailure;
        std::exit(failed && sticky ? 0 : 1);
      },
      ::testing::ExitedWithCode(0), "reached by 100 of the block's 128 threads");
}

// A (m x k) with leading dimension lda, column-major: a(i, l) = a[i + l * lda].
std::vector<float> column_major_product(const std::vector<float>& a, int lda, bool a_transposed,
                                        const std::vector<float>& b, int ldb, int m, int n, int k) {
  std::vector<float> c(static_cast<std::size_t>(m * n));
  for (int j = 0; j < n; ++j) {
    for (int i = 0; i < m; ++i) {
      float sum = 0;
      for (int l = 0; l < k; ++l) {
        const float a_il = a_transposed ? a[static_cast<std::size_t>(l + i * lda)] : a[static_cast<std::size_t>(i + l * lda)];
        sum += a_il * b[static_cast<std::size_t>(l + j * ldb)];
      }
      c[static_cast<std::size_t>(i + j * m)] = sum;
    }
  }
  return c;
}

TEST(CudaEmulation, CublasGemmFollowsColumnMajorSemantics) {
  constexpr int m = 5, n = 3, k = 4, lda = 7, ldb = 6;
  // Room for A as stored both ways: (m x k) and, transposed, (k x m), each with lda.
  std::vector<float> a(static_cast<std::size_t>(lda * m)), b(static_cast<std::size_t>(ldb * n));
  for (std::size_t i = 0; i < a.size(); ++i) a[i] = static_cast<float>(i % 11) - 5.0f;
  for (std::size_t i = 0; i < b.size(); ++i) b[i] = static_cast<float>(i % 7) * 0.5f;
  const DeviceBuffer<float> a_dev(a), b_dev(b);
  DeviceBuffer<float> c_dev(m * n);  // fresh memory reads as NaN: beta = 0 must not read it
  cublasHandle_t handle = nullptr;
  ASSERT_EQ(cublasCreate(&handle), CUBLAS_STATUS_SUCCESS);
  const float one = 1.0f, zero = 0.0f, two = 2.0f;
  ASSERT_EQ(cublasSgemm(handle, CUBLAS_OP_N, CUBLAS_OP_N, m, n, k, &one, a_dev.get(), lda, b_dev.get(), ldb, &zero,
                        c_dev.get(), m),
            CUBLAS_STATUS_SUCCESS);
  const std::vector<float> expected = column_major_product(a, lda, false, b, ldb, m, n, k);
  EXPECT_EQ(c_dev.read(), expected);
  // beta = 2 accumulates: C = A B + 2 C = 3 A B.
  ASSERT_EQ(cublasSgemm(handle, CUBLAS_OP_N, CUBLAS_OP_N, m, n, k, &one, a_dev.get(), lda, b_dev.get(), ldb, &two,
                        c_dev.get(), m),
            CUBLAS_STATUS_SUCCESS);
  const std::vector<float> tripled = c_dev.read();
  for (std::size_t i = 0; i < expected.size(); ++i) EXPECT_FLOAT_EQ(tripled[i], 3 * expected[i]);
  // op(A) = A^T: the stored (k x m) block read transposed, lda >= k.
  ASSERT_EQ(cublasSgemm(handle, CUBLAS_OP_T, CUBLAS_OP_N, m, n, k, &one, a_dev.get(), lda, b_dev.get(), ldb, &zero,
                        c_dev.get(), m),
            CUBLAS_STATUS_SUCCESS);
  EXPECT_EQ(c_dev.read(), column_major_product(a, lda, true, b, ldb, m, n, k));
  // Arguments cuBLAS documents as invalid, and a matrix in host memory.
  EXPECT_EQ(cublasSgemm(handle, CUBLAS_OP_N, CUBLAS_OP_N, m, n, k, &one, a_dev.get(), m - 1, b_dev.get(), ldb, &zero,
                        c_dev.get(), m),
            CUBLAS_STATUS_INVALID_VALUE);
  EXPECT_EQ(cublasSgemm(handle, CUBLAS_OP_N, CUBLAS_OP_N, -1, n, k, &one, a_dev.get(), lda, b_dev.get(), ldb, &zero,
                        c_dev.get(), m),
            CUBLAS_STATUS_INVALID_VALUE);
  EXPECT_EQ(cublasSgemm(handle, CUBLAS_OP_N, CUBLAS_OP_N, m, n, k, &one, a.data(), lda, b_dev.get(), ldb, &zero,
                        c_dev.get(), m),
            CUBLAS_STATUS_INVALID_VALUE);
  cublasDestroy(handle);
}

TEST(CudaEmulation, CopiesCheckWhereTheirPointersLive) {
  DeviceBuffer<float> device(4);
  std::vector<float> host(8, 1.0f);
  EXPECT_TRUE(std::isnan(device.read()[0])) << "fresh device memory should read as NaN, not zero";
  EXPECT_EQ(cudaMemcpy(host.data(), host.data() + 4, 4 * sizeof(float), cudaMemcpyHostToDevice), cudaErrorInvalidValue);
  EXPECT_EQ(cudaMemcpy(device.get(), host.data(), 4 * sizeof(float), cudaMemcpyDeviceToHost), cudaErrorInvalidValue);
  EXPECT_EQ(cudaMemcpy(device.get(), host.data(), 5 * sizeof(float), cudaMemcpyHostToDevice), cudaErrorInvalidValue);
  EXPECT_EQ(cudaMemset(host.data(), 0, sizeof(float)), cudaErrorInvalidValue);
  EXPECT_EQ(cudaFree(host.data()), cudaErrorInvalidValue);
  EXPECT_EQ(cudaMemcpy(device.get(), host.data(), 4 * sizeof(float), cudaMemcpyDefault), cudaSuccess);
  EXPECT_EQ(device.read(), std::vector<float>(4, 1.0f));
  cudaGetLastError();
}

TEST(CudaEmulation, TheDeviceIsAnEmulatedH100) {
  cudaDeviceProp prop{};
  ASSERT_EQ(cudaGetDeviceProperties(&prop, 0), cudaSuccess);
  EXPECT_EQ(prop.multiProcessorCount, 132);
  EXPECT_EQ(prop.maxThreadsPerBlock, 1024);
  EXPECT_EQ(prop.warpSize, 32);
  EXPECT_EQ(prop.sharedMemPerBlockOptin, std::size_t{227} << 10);
  EXPECT_NE(cuda::properties(0).name.find("emulated"), std::string::npos) << cuda::properties(0).name;
  EXPECT_TRUE(build_info().cuda_emulated);
}

// Stream capture and graphs.

// A stream of a test's own, destroyed at scope exit.
class TestStream {
 public:
  explicit TestStream(unsigned flags) { REDES_CUDA_CHECK(cudaStreamCreateWithFlags(&stream_, flags), "test"); }
  ~TestStream() { cudaStreamDestroy(stream_); }
  TestStream(const TestStream&) = delete;
  TestStream& operator=(const TestStream&) = delete;

  operator cudaStream_t() const { return stream_; }

 private:
  cudaStream_t stream_ = nullptr;
};

// x = 2 x + 1 for each of n values: replays that run k times turn 1 into 2^(k+1) - 1.
__global__ void double_plus_one_kernel(int* x, int n) {
  const int i = static_cast<int>(blockIdx.x * blockDim.x + threadIdx.x);
  if (i < n) x[i] = 2 * x[i] + 1;
}

cudaError_t double_plus_one(int* x, int n, cudaStream_t stream) {
  return cuda::launch(double_plus_one_kernel, dim3(static_cast<unsigned>((n + kBlock - 1) / kBlock)), dim3(kBlock), 0,
                      stream, x, n);
}

cudaStreamCaptureStatus capture_status(cudaStream_t stream) {
  cudaStreamCaptureStatus status = cudaStreamCaptureStatusInvalidated;
  EXPECT_EQ(cudaStreamIsCapturing(stream, &status), cudaSuccess);
  return status;
}

// The executable graph of what `queue_work` queues on `stream` in a Relaxed
// capture; the graph itself is destroyed at once (its instance outlives it).
cudaGraphExec_t capture_and_instantiate(cudaStream_t stream, const std::function<void()>& queue_work) {
  REDES_CUDA_CHECK(cudaStreamBeginCapture(stream, cudaStreamCaptureModeRelaxed), "test");
  queue_work();
  cudaGraph_t graph = nullptr;
  REDES_CUDA_CHECK(cudaStreamEndCapture(stream, &graph), "test");
  cudaGraphExec_t exec = nullptr;
  REDES_CUDA_CHECK(cudaGraphInstantiate(&exec, graph, 0), "test");
  REDES_CUDA_CHECK(cudaGraphDestroy(graph), "test");
  return exec;
}

TEST(CudaEmulation, CapturedWorkRunsOnlyAtEachGraphLaunchInCaptureOrder) {
  constexpr int n = 300;  // two blocks
  // Non-blocking, so the legacy stream's cudaMemcpy may read the buffers while it captures.
  const TestStream stream(cudaStreamNonBlocking);
  DeviceBuffer<int> x(std::vector<int>(n, 5)), snapshot(std::vector<int>(n, 7));
  int* host = nullptr;
  ASSERT_EQ(cudaHostAlloc(&host, n * sizeof(int), cudaHostAllocDefault), cudaSuccess);
  std::fill(host, host + n, 9);
  EXPECT_EQ(capture_status(stream), cudaStreamCaptureStatusNone);

  ASSERT_EQ(cudaStreamBeginCapture(stream, cudaStreamCaptureModeRelaxed), cudaSuccess);
  EXPECT_EQ(capture_status(stream), cudaStreamCaptureStatusActive);
  ASSERT_EQ(cudaMemsetAsync(x.get(), 0, n * sizeof(int), stream), cudaSuccess);  // x = 0
  ASSERT_EQ(double_plus_one(x.get(), n, stream), cudaSuccess);                   // x = 1
  ASSERT_EQ(cudaMemcpyAsync(snapshot.get(), x.get(), n * sizeof(int), cudaMemcpyDeviceToDevice, stream), cudaSuccess);
  ASSERT_EQ(double_plus_one(x.get(), n, stream), cudaSuccess);  // x = 3
  ASSERT_EQ(cudaMemcpyAsync(host, x.get(), n * sizeof(int), cudaMemcpyDeviceToHost, stream), cudaSuccess);
  EXPECT_EQ(capture_status(stream), cudaStreamCaptureStatusActive);
  EXPECT_EQ(x.read(), std::vector<int>(n, 5)) << "captured work ran during the capture";
  EXPECT_EQ(snapshot.read(), std::vector<int>(n, 7));
  EXPECT_EQ(std::vector<int>(host, host + n), std::vector<int>(n, 9));

  cudaGraph_t graph = nullptr;
  ASSERT_EQ(cudaStreamEndCapture(stream, &graph), cudaSuccess);
  ASSERT_NE(graph, nullptr);
  EXPECT_EQ(capture_status(stream), cudaStreamCaptureStatusNone);
  ASSERT_EQ(cudaStreamSynchronize(stream), cudaSuccess);
  EXPECT_EQ(x.read(), std::vector<int>(n, 5)) << "ending the capture ran its work";

  cudaGraphExec_t exec = nullptr;
  ASSERT_EQ(cudaGraphInstantiate(&exec, graph, 0), cudaSuccess);
  // Each launch runs the whole sequence once, in the order it was captured
  // (in reverse, the snapshot would hold 11 and x would end as 0).
  for (int launch = 0; launch < 2; ++launch) {
    SCOPED_TRACE("launch " + std::to_string(launch));
    ASSERT_EQ(cudaMemcpy(x.get(), std::vector<int>(n, 5).data(), n * sizeof(int), cudaMemcpyHostToDevice), cudaSuccess);
    std::fill(host, host + n, 9);
    ASSERT_EQ(cudaGraphLaunch(exec, stream), cudaSuccess);
    ASSERT_EQ(cudaStreamSynchronize(stream), cudaSuccess);
    EXPECT_EQ(x.read(), std::vector<int>(n, 3));
    EXPECT_EQ(snapshot.read(), std::vector<int>(n, 1));
    EXPECT_EQ(std::vector<int>(host, host + n), std::vector<int>(n, 3));
  }
  EXPECT_EQ(cudaGraphExecDestroy(exec), cudaSuccess);
  EXPECT_EQ(cudaGraphDestroy(graph), cudaSuccess);
  cudaFreeHost(host);
}

TEST(CudaEmulation, EachGraphLaunchRunsTheCapturedKernelOnceOnAnyStream) {
  constexpr int n = 100;
  const TestStream captured_on(cudaStreamNonBlocking), other(cudaStreamDefault);
  DeviceBuffer<int> x(std::vector<int>(n, 1));
  const cudaGraphExec_t exec =
      capture_and_instantiate(captured_on, [&] { ASSERT_EQ(double_plus_one(x.get(), n, captured_on), cudaSuccess); });
  for (int launch = 0; launch < 3; ++launch) ASSERT_EQ(cudaGraphLaunch(exec, captured_on), cudaSuccess);
  ASSERT_EQ(cudaStreamSynchronize(captured_on), cudaSuccess);
  EXPECT_EQ(x.read(), std::vector<int>(n, 15));  // 1 -> 3 -> 7 -> 15
  ASSERT_EQ(cudaGraphLaunch(exec, other), cudaSuccess);
  ASSERT_EQ(cudaStreamSynchronize(other), cudaSuccess);
  EXPECT_EQ(x.read(), std::vector<int>(n, 31));
  ASSERT_EQ(cudaGraphLaunch(exec, nullptr), cudaSuccess);  // the legacy stream
  EXPECT_EQ(x.read(), std::vector<int>(n, 63));
  EXPECT_EQ(cudaGraphExecDestroy(exec), cudaSuccess);
}

TEST(CudaEmulation, LaunchesOfOneGraphOnTwoStreamsRunOneAfterTheOther) {
  constexpr int n = 100;
  const TestStream captured_on(cudaStreamNonBlocking), first(cudaStreamNonBlocking), second(cudaStreamNonBlocking);
  DeviceBuffer<int> x(std::vector<int>(n, 1));
  int* release = nullptr;
  ASSERT_EQ(cudaHostAlloc(&release, sizeof(int), cudaHostAllocDefault), cudaSuccess);
  std::atomic_ref<int>(*release).store(0);
  const cudaGraphExec_t exec =
      capture_and_instantiate(captured_on, [&] { ASSERT_EQ(double_plus_one(x.get(), n, captured_on), cudaSuccess); });
  ASSERT_EQ(cuda::launch(wait_for_release_kernel, dim3(1), dim3(1), 0, first, release), cudaSuccess);
  ASSERT_EQ(cudaGraphLaunch(exec, first), cudaSuccess);   // held behind the kernel
  ASSERT_EQ(cudaGraphLaunch(exec, second), cudaSuccess);  // held behind the launch on `first`
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  EXPECT_EQ(cudaStreamQuery(second), cudaErrorNotReady) << "the second launch ran before the first";
  EXPECT_EQ(x.read(), std::vector<int>(n, 1));
  std::atomic_ref<int>(*release).store(1);
  ASSERT_EQ(cudaStreamSynchronize(second), cudaSuccess);
  ASSERT_EQ(cudaStreamSynchronize(first), cudaSuccess);
  EXPECT_EQ(x.read(), std::vector<int>(n, 7));
  EXPECT_EQ(cudaGraphExecDestroy(exec), cudaSuccess);
  cudaFreeHost(release);
  cudaGetLastError();
}

TEST(CudaEmulation, ACapturedCopyFromPageableMemoryReadsItAtEachLaunch) {
  constexpr int n = 64;
  const TestStream stream(cudaStreamNonBlocking);
  DeviceBuffer<int> x(n);
  std::vector<int> source(n, 1);
  const cudaGraphExec_t exec = capture_and_instantiate(stream, [&] {
    ASSERT_EQ(cudaMemcpyAsync(x.get(), source.data(), n * sizeof(int), cudaMemcpyHostToDevice, stream), cudaSuccess);
  });
  for (const int value : {2, 3}) {
    std::fill(source.begin(), source.end(), value);
    ASSERT_EQ(cudaGraphLaunch(exec, stream), cudaSuccess);
    ASSERT_EQ(cudaStreamSynchronize(stream), cudaSuccess);
    EXPECT_EQ(x.read(), std::vector<int>(n, value)) << "the replay copied the source as it was at the capture";
  }
  EXPECT_EQ(cudaGraphExecDestroy(exec), cudaSuccess);
}

// Each call waits for the capturing stream, or is one the emulated capture
// cannot record: it fails, invalidates the capture, and the stream's later
// work is dropped until the capture ends, which gives no graph.
TEST(CudaEmulation, ACallACaptureCannotHoldInvalidatesIt) {
  constexpr int n = 100;
  const TestStream stream(cudaStreamNonBlocking);
  DeviceBuffer<int> x(n);
  cudaEvent_t event = nullptr;
  ASSERT_EQ(cudaEventCreate(&event), cudaSuccess);
  ASSERT_EQ(cudaEventRecord(event, nullptr), cudaSuccess);
  const TestStream graph_stream(cudaStreamNonBlocking);
  const cudaGraphExec_t other_graph = capture_and_instantiate(graph_stream, [] {});
  const struct {
    const char* call;
    std::function<cudaError_t(cudaStream_t)> make;
  } calls[] = {
      {"cudaStreamSynchronize", [](cudaStream_t s) { return cudaStreamSynchronize(s); }},
      {"cudaStreamQuery", [](cudaStream_t s) { return cudaStreamQuery(s); }},
      {"cudaDeviceSynchronize", [](cudaStream_t) { return cudaDeviceSynchronize(); }},
      {"cudaEventRecord", [&](cudaStream_t s) { return cudaEventRecord(event, s); }},
      {"cudaStreamWaitEvent", [&](cudaStream_t s) { return cudaStreamWaitEvent(s, event, 0); }},
      {"cudaGraphLaunch", [&](cudaStream_t s) { return cudaGraphLaunch(other_graph, s); }},
  };
  for (const auto& [call, make] : calls) {
    SCOPED_TRACE(call);
    ASSERT_EQ(cudaMemcpy(x.get(), std::vector<int>(n, 1).data(), n * sizeof(int), cudaMemcpyHostToDevice), cudaSuccess);
    ASSERT_EQ(cudaStreamBeginCapture(stream, cudaStreamCaptureModeRelaxed), cudaSuccess);
    ASSERT_EQ(double_plus_one(x.get(), n, stream), cudaSuccess);
    EXPECT_EQ(make(stream), cudaErrorStreamCaptureUnsupported);
    EXPECT_EQ(cudaGetLastError(), cudaErrorStreamCaptureUnsupported);
    EXPECT_EQ(capture_status(stream), cudaStreamCaptureStatusInvalidated);
    EXPECT_EQ(double_plus_one(x.get(), n, stream), cudaErrorStreamCaptureInvalidated);
    EXPECT_EQ(cudaMemsetAsync(x.get(), 0, n * sizeof(int), stream), cudaErrorStreamCaptureInvalidated);
    auto graph = reinterpret_cast<cudaGraph_t>(std::uintptr_t{0x100});  // not null: the call must write it
    EXPECT_EQ(cudaStreamEndCapture(stream, &graph), cudaErrorStreamCaptureInvalidated);
    EXPECT_EQ(graph, nullptr);
    EXPECT_EQ(capture_status(stream), cudaStreamCaptureStatusNone);
    cudaGetLastError();
    EXPECT_EQ(x.read(), std::vector<int>(n, 1)) << "work of the invalidated capture ran";
    // The stream works as before, and a refused record left the event as it was.
    ASSERT_EQ(double_plus_one(x.get(), n, stream), cudaSuccess);
    ASSERT_EQ(cudaStreamSynchronize(stream), cudaSuccess);
    EXPECT_EQ(x.read(), std::vector<int>(n, 3));
    EXPECT_EQ(cudaEventQuery(event), cudaSuccess);
  }
  EXPECT_EQ(cudaGraphExecDestroy(other_graph), cudaSuccess);
  cudaEventDestroy(event);
}

// Begins a capture in a thread of its own, which ends it when told: the
// calls made meanwhile concern a capture their thread did not begin.
class CaptureInAnotherThread {
 public:
  CaptureInAnotherThread(cudaStream_t stream, cudaStreamCaptureMode mode)
      : thread_([this, stream, mode] {
          began_ = cudaStreamBeginCapture(stream, mode);
          began_signal_.release();
          end_signal_.acquire();
          cudaGraph_t graph = nullptr;
          ended_ = cudaStreamEndCapture(stream, &graph);
          if (graph != nullptr) cudaGraphDestroy(graph);
        }) {
    began_signal_.acquire();
  }
  ~CaptureInAnotherThread() {
    if (thread_.joinable()) end();
  }
  CaptureInAnotherThread(const CaptureInAnotherThread&) = delete;
  CaptureInAnotherThread& operator=(const CaptureInAnotherThread&) = delete;

  cudaError_t began() const { return began_; }
  // What cudaStreamEndCapture returned in the capturing thread.
  cudaError_t end() {
    end_signal_.release();
    thread_.join();
    return ended_;
  }

 private:
  std::binary_semaphore began_signal_{0}, end_signal_{0};
  cudaError_t began_ = cudaSuccess, ended_ = cudaSuccess;
  std::thread thread_;  // last: starts once the members it uses exist
};

TEST(CudaEmulation, CaptureModesDecideWhoMayAllocateOrCopySynchronously) {
  const TestStream stream(cudaStreamNonBlocking);
  DeviceBuffer<int> x(std::vector<int>{1, 2, 3, 4});
  const std::vector<int> zeros(4, 0);
  const std::vector<std::pair<const char*, std::function<cudaError_t()>>> unsafe_calls = {
      {"cudaMalloc", [] {
         void* ptr = nullptr;
         const cudaError_t status = cudaMalloc(&ptr, 64);
         if (status == cudaSuccess) cudaFree(ptr);
         return status;
       }},
      {"cudaMemcpy", [&] { return cudaMemcpy(x.get(), zeros.data(), 4 * sizeof(int), cudaMemcpyHostToDevice); }},
      {"cudaMemset", [&] { return cudaMemset(x.get(), 0, 4 * sizeof(int)); }},
  };
  for (const auto& [call, make] : unsafe_calls) {
    SCOPED_TRACE(call);
    // Global and ThreadLocal captures forbid the thread that began them.
    for (const cudaStreamCaptureMode mode : {cudaStreamCaptureModeGlobal, cudaStreamCaptureModeThreadLocal}) {
      ASSERT_EQ(cudaStreamBeginCapture(stream, mode), cudaSuccess);
      EXPECT_EQ(make(), cudaErrorStreamCaptureUnsupported) << "mode " << mode;
      EXPECT_EQ(capture_status(stream), cudaStreamCaptureStatusInvalidated) << "mode " << mode;
      cudaGraph_t graph = nullptr;
      EXPECT_EQ(cudaStreamEndCapture(stream, &graph), cudaErrorStreamCaptureInvalidated) << "mode " << mode;
    }
    // A Global capture forbids every thread.
    {
      CaptureInAnotherThread capture(stream, cudaStreamCaptureModeGlobal);
      ASSERT_EQ(capture.began(), cudaSuccess);
      EXPECT_EQ(make(), cudaErrorStreamCaptureUnsupported);
      EXPECT_EQ(capture.end(), cudaErrorStreamCaptureInvalidated);
    }
    // Another thread's ThreadLocal capture, and a Relaxed one, forbid nothing.
    {
      CaptureInAnotherThread capture(stream, cudaStreamCaptureModeThreadLocal);
      ASSERT_EQ(capture.began(), cudaSuccess);
      EXPECT_EQ(make(), cudaSuccess);
      EXPECT_EQ(capture_status(stream), cudaStreamCaptureStatusActive);
      EXPECT_EQ(capture.end(), cudaSuccess);
    }
    ASSERT_EQ(cudaStreamBeginCapture(stream, cudaStreamCaptureModeRelaxed), cudaSuccess);
    EXPECT_EQ(make(), cudaSuccess);
    EXPECT_EQ(capture_status(stream), cudaStreamCaptureStatusActive);
    cudaGraph_t graph = nullptr;
    EXPECT_EQ(cudaStreamEndCapture(stream, &graph), cudaSuccess);
    EXPECT_EQ(cudaGraphDestroy(graph), cudaSuccess);
  }
  cudaGetLastError();
}

TEST(CudaEmulation, OnlyTheThreadThatBeganAThreadLocalCaptureEndsIt) {
  const TestStream stream(cudaStreamNonBlocking);
  CaptureInAnotherThread capture(stream, cudaStreamCaptureModeThreadLocal);
  ASSERT_EQ(capture.began(), cudaSuccess);
  cudaGraph_t graph = nullptr;
  EXPECT_EQ(cudaStreamEndCapture(stream, &graph), cudaErrorStreamCaptureWrongThread);
  EXPECT_EQ(graph, nullptr);
  EXPECT_EQ(capture_status(stream), cudaStreamCaptureStatusActive);
  EXPECT_EQ(capture.end(), cudaSuccess);
  cudaGetLastError();
}

TEST(CudaEmulation, TheLegacyStreamCannotCaptureNorRunBesideABlockingCapture) {
  constexpr int n = 100;
  EXPECT_EQ(cudaStreamBeginCapture(nullptr, cudaStreamCaptureModeRelaxed), cudaErrorStreamCaptureImplicit);
  EXPECT_EQ(cudaStreamBeginCapture(cudaStreamLegacy, cudaStreamCaptureModeRelaxed), cudaErrorStreamCaptureImplicit);
  EXPECT_EQ(cudaGetLastError(), cudaErrorStreamCaptureImplicit);
  EXPECT_EQ(capture_status(nullptr), cudaStreamCaptureStatusNone);

  const TestStream blocking(cudaStreamDefault);
  DeviceBuffer<int> x(std::vector<int>(n, 1));
  ASSERT_EQ(cudaStreamBeginCapture(blocking, cudaStreamCaptureModeRelaxed), cudaSuccess);
  // Asking is refused, but leaves the capture as it was.
  cudaStreamCaptureStatus status = cudaStreamCaptureStatusNone;
  EXPECT_EQ(cudaStreamIsCapturing(nullptr, &status), cudaErrorStreamCaptureImplicit);
  EXPECT_EQ(capture_status(blocking), cudaStreamCaptureStatusActive);
  // Work on the legacy stream would wait for the capturing stream's: refused,
  // and the capture is invalidated.
  EXPECT_EQ(double_plus_one(x.get(), n, nullptr), cudaErrorStreamCaptureImplicit);
  EXPECT_EQ(capture_status(blocking), cudaStreamCaptureStatusInvalidated);
  cudaGraph_t graph = nullptr;
  EXPECT_EQ(cudaStreamEndCapture(blocking, &graph), cudaErrorStreamCaptureInvalidated);
  EXPECT_EQ(graph, nullptr);
  EXPECT_EQ(x.read(), std::vector<int>(n, 1)) << "the refused launch ran";
  ASSERT_EQ(double_plus_one(x.get(), n, nullptr), cudaSuccess);
  EXPECT_EQ(x.read(), std::vector<int>(n, 3));
  cudaGetLastError();
}

TEST(CudaEmulation, CaptureAndGraphCallsRefuseWhatTheRuntimeRefuses) {
  const TestStream stream(cudaStreamNonBlocking);
  cudaGraph_t graph = nullptr;
  EXPECT_EQ(cudaStreamEndCapture(stream, &graph), cudaErrorInvalidValue);  // not capturing
  EXPECT_EQ(cudaStreamBeginCapture(stream, static_cast<cudaStreamCaptureMode>(3)), cudaErrorInvalidValue);
  ASSERT_EQ(cudaStreamBeginCapture(stream, cudaStreamCaptureModeRelaxed), cudaSuccess);
  EXPECT_EQ(cudaStreamBeginCapture(stream, cudaStreamCaptureModeRelaxed), cudaErrorInvalidValue);  // capturing already
  EXPECT_EQ(capture_status(stream), cudaStreamCaptureStatusActive);
  EXPECT_EQ(cudaStreamEndCapture(stream, nullptr), cudaErrorInvalidValue);
  ASSERT_EQ(cudaStreamEndCapture(stream, &graph), cudaSuccess);
  ASSERT_NE(graph, nullptr);

  cudaGraphExec_t exec = nullptr;
  EXPECT_EQ(cudaGraphInstantiate(&exec, graph, 1), cudaErrorInvalidValue);
  EXPECT_EQ(cudaGraphInstantiate(nullptr, graph, 0), cudaErrorInvalidValue);
  ASSERT_EQ(cudaGraphInstantiate(&exec, graph, 0), cudaSuccess);
  EXPECT_EQ(cudaGraphDestroy(graph), cudaSuccess);
  EXPECT_EQ(cudaGraphDestroy(graph), cudaErrorInvalidValue);
  cudaGraphExec_t second = nullptr;
  EXPECT_EQ(cudaGraphInstantiate(&second, graph, 0), cudaErrorInvalidValue);
  EXPECT_EQ(cudaGraphLaunch(exec, stream), cudaSuccess);  // an instance outlives its graph
  EXPECT_EQ(cudaGraphExecDestroy(exec), cudaSuccess);
  EXPECT_EQ(cudaGraphExecDestroy(exec), cudaErrorInvalidValue);
  EXPECT_EQ(cudaGraphLaunch(exec, stream), cudaErrorInvalidValue);
  EXPECT_EQ(cudaGetLastError(), cudaErrorInvalidValue);
  EXPECT_EQ(cudaStreamSynchronize(stream), cudaSuccess);

  const std::pair<cudaError_t, const char*> names[] = {
      {cudaErrorStreamCaptureUnsupported, "cudaErrorStreamCaptureUnsupported"},
      {cudaErrorStreamCaptureInvalidated, "cudaErrorStreamCaptureInvalidated"},
      {cudaErrorStreamCaptureUnmatched, "cudaErrorStreamCaptureUnmatched"},
      {cudaErrorStreamCaptureImplicit, "cudaErrorStreamCaptureImplicit"},
      {cudaErrorStreamCaptureWrongThread, "cudaErrorStreamCaptureWrongThread"},
  };
  for (const auto& [error, name] : names) {
    EXPECT_STREQ(cudaGetErrorName(error), name);
    EXPECT_STRNE(cudaGetErrorString(error), "unrecognized error code") << name;
  }
}

}  // namespace
}  // namespace redes
