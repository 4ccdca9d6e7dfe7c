// The emulated CUDA device's own tests (the cuda-emulated presets only).
// Each checks one thing the emulation promises, with a kernel or a call that
// gives a different result, or a different error, without that feature.
#include <gtest/gtest.h>

#include <atomic>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <numeric>
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

}  // namespace
}  // namespace redes
