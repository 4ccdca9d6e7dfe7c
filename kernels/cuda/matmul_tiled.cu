// Batched matrix product on CUDA devices by hand-written kernels, the rivals
// of cuBLAS (kernels/cuda/matmul.cu) under automatic selection. Registered
// below cuBLAS: `hand` and `cudnn` keep cuBLAS, `auto` checks these kernels
// against it and times them per shape.
//
// The register-tiled kernel is the tiled GEMM core of the implicit-GEMM
// convolutions (kernels/cuda/tiled_gemm.cuh: double-buffered shared memory,
// a small tile of results per thread), with tiles by the result's shape
// (kernels/conv2d_igemm_plan.h).
//
// The first kernel, kept beside it: each 16 x 16 block computes a 16 x 16 tile of the output. The block walks
// k in steps of 16: every thread loads one element of the a tile and one of
// the b tile into shared memory, the block waits (__syncthreads), each thread
// adds the 16 products its output needs, and the block waits again before the
// tiles are overwritten. Shared memory turns 2k global reads per output into
// 2k/16. Operands are read through their strides, so any layout works
// (transposed, sliced, broadcast over the batch).
#include <algorithm>
#include <cstdint>
#include <limits>

#include "core/cuda/check.h"
#include "kernels/cuda/launch.cuh"
#include "kernels/cuda/strided_gemm.cuh"
#include "kernels/elementwise_math.h"
#include "kernels/params.h"
#include "kernels/registry.h"

namespace redes {
namespace {

constexpr int kTile = 16;
// Grid limits: y (row tiles) and z (batch elements) are at most 65535.
constexpr std::int64_t kMaxGridYZ = 65535;

using cuda::OperandStrides;

// out: (batch, m, n) contiguous; a: (batch, m, k) and b: (batch, k, n) by
// their strides. Block (x, y, z) computes columns 16x.., rows 16y.. of batch
// element first_batch + z; thread (tx, ty) computes one output element.
template <class T>
__global__ void matmul_tiled_kernel(T* out, const T* a, OperandStrides as, const T* b, OperandStrides bs,
                                    std::int64_t m, std::int64_t n, std::int64_t k, std::int64_t first_batch,
                                    bool accumulate) {
  __shared__ T a_tile[kTile][kTile];
  // One column of padding: the inner loop reads b_tile down a column, and
  // rows of 17 put those reads in different shared-memory banks.
  __shared__ T b_tile[kTile][kTile + 1];
  const int tx = static_cast<int>(threadIdx.x), ty = static_cast<int>(threadIdx.y);
  const std::int64_t batch = first_batch + blockIdx.z;
  const std::int64_t row = static_cast<std::int64_t>(blockIdx.y) * kTile + ty;
  const std::int64_t col = static_cast<std::int64_t>(blockIdx.x) * kTile + tx;
  const T* a_batch = a + batch * as.batch;
  const T* b_batch = b + batch * bs.batch;
  T acc = 0;
  for (std::int64_t step = 0; step < k; step += kTile) {
    const std::int64_t a_col = step + tx, b_row = step + ty;
    a_tile[ty][tx] = row < m && a_col < k ? a_batch[row * as.row + a_col * as.col] : T(0);
    b_tile[ty][tx] = b_row < k && col < n ? b_batch[b_row * bs.row + col * bs.col] : T(0);
    __syncthreads();
    for (int l = 0; l < kTile; ++l) acc += a_tile[ty][l] * b_tile[l][tx];
    __syncthreads();
  }
  if (row < m && col < n) {
    T& result = out[(batch * m + row) * n + col];
    result = accumulate ? result + acc : acc;
  }
}

// args: out (batch, m, n) contiguous; a (batch, m, k); b (batch, k, n), any
// strides. out = a @ b, or out += a @ b with `accumulate`.
template <class T>
void matmul_tiled_cuda(const MatmulParams& p, const TensorArg* args, int, const ExecContext& ctx) {
  if (p.batch == 0 || p.m == 0 || p.n == 0) return;
  const std::int64_t row_tiles = (p.m + kTile - 1) / kTile, col_tiles = (p.n + kTile - 1) / kTile;
  REDES_CHECK(row_tiles <= kMaxGridYZ, "matmul: the tiled kernel handles at most ", kMaxGridYZ * kTile, " rows, got ",
              p.m);
  const OperandStrides as{args[1].strides[0], args[1].strides[1], args[1].strides[2]};
  const OperandStrides bs{args[2].strides[0], args[2].strides[1], args[2].strides[2]};
  for (std::int64_t first = 0; first < p.batch; first += kMaxGridYZ) {
    const std::int64_t count = std::min(p.batch - first, kMaxGridYZ);
    const dim3 grid(static_cast<unsigned>(col_tiles), static_cast<unsigned>(row_tiles), static_cast<unsigned>(count));
    REDES_CUDA_CHECK(cuda::launch(matmul_tiled_kernel<T>, grid, dim3(kTile, kTile), 0, cuda::stream_of(ctx),
                                  static_cast<T*>(args[0].data), static_cast<const T*>(args[1].data), as,
                                  static_cast<const T*>(args[2].data), bs, p.m, p.n, p.k, first, p.accumulate),
                     MatmulParams::op);
  }
}

// ---- register tiling --------------------------------------------------------

// args as matmul_tiled_cuda's.
template <class T>
void matmul_register_tiled_cuda(const MatmulParams& p, const TensorArg* args, int, const ExecContext& ctx) {
  const cuda::StridedGemm gemm{.batch = p.batch, .m = p.m, .n = p.n, .k = p.k, .accumulate = p.accumulate};
  REDES_CUDA_CHECK(cuda::launch_strided_gemm<T>(gemm, static_cast<T*>(args[0].data),
                                                static_cast<const T*>(args[1].data),
                                                {args[1].strides[0], args[1].strides[1], args[1].strides[2]},
                                                static_cast<const T*>(args[2].data),
                                                {args[2].strides[0], args[2].strides[1], args[2].strides[2]},
                                                cuda::stream_of(ctx)),
                   MatmulParams::op);
}

// The fused linear layer's epilogue: the bias added to each result, then the
// activation, as the result is stored.
template <class T, Activation A>
struct BiasActivationStore {
  const T* bias;  // null without bias
  __device__ void operator()(T& result, T value, std::int64_t col) const {
    result = activate<A>(bias != nullptr ? static_cast<T>(bias[col] + value) : value);
  }
};

// args: see LinearParams. One register-tiled GEMM whose stores apply the
// bias and the activation: no bias copy before it, no activation pass after.
// One load pattern is instantiated, the one that reads a layer's operands
// coalesced (x row-major, the weight (n, k) row-major: both walk k
// contiguously); other strides are read correctly, only less efficiently.
// Each pattern would be another kernel per tile and activation.
template <class T>
void linear_register_tiled_cuda(const LinearParams& p, const TensorArg* args, int, const ExecContext& ctx) {
  const cuda::StridedGemm gemm{.batch = 1, .m = p.m, .n = p.n, .k = p.k};
  const T* bias = p.bias ? static_cast<const T*>(args[3].data) : nullptr;
  if (p.m == 0 || p.n == 0) return;
  visit_activation(p.activation, [&]<Activation A>() {
    REDES_CUDA_CHECK((cuda::launch_strided_gemm_layout<T, true, true>(
                         gemm, static_cast<T*>(args[0].data), static_cast<const T*>(args[1].data),
                         {args[1].strides[0], args[1].strides[1], args[1].strides[2]},
                         static_cast<const T*>(args[2].data),
                         {args[2].strides[0], args[2].strides[1], args[2].strides[2]}, cuda::stream_of(ctx),
                         BiasActivationStore<T, A>{bias})),
                     LinearParams::op);
  });
}

// Sizes the kernel indexes with 32-bit ints.
bool linear_supports(const void* params, const TensorArg*, int) {
  const auto& p = *static_cast<const LinearParams*>(params);
  constexpr std::int64_t limit = std::numeric_limits<int>::max();
  return p.m <= limit && p.n <= limit && p.k <= limit;
}

// Sizes and offsets the register-tiled kernel indexes with 32-bit ints (the
// batch offset stays 64-bit).
bool supports_int32(const void* params, const TensorArg*, int) {
  const auto& p = *static_cast<const MatmulParams*>(params);
  constexpr std::int64_t limit = std::numeric_limits<int>::max();
  return p.m <= limit && p.n <= limit && p.k <= limit;
}

}  // namespace

// Below cuBLAS (priority 0): the register-tiled kernel, then the 16 x 16 one.
void register_cuda_matmul_tiled(KernelRegistry& registry) {
  registry.add(make_kernel<LinearParams, &linear_register_tiled_cuda<float>>(DeviceType::CUDA, kFloat32, "cuda.hand",
                                                                             0, &linear_supports));
  registry.add(make_kernel<LinearParams, &linear_register_tiled_cuda<double>>(
      DeviceType::CUDA, kFloat64, "cuda.hand", 0, &linear_supports));
  registry.add(make_kernel<MatmulParams, &matmul_register_tiled_cuda<float>>(DeviceType::CUDA, kFloat32,
                                                                             "cuda.hand.regtile", -1, &supports_int32));
  registry.add(make_kernel<MatmulParams, &matmul_register_tiled_cuda<double>>(
      DeviceType::CUDA, kFloat64, "cuda.hand.regtile", -1, &supports_int32));
  registry.add(make_kernel<MatmulParams, &matmul_tiled_cuda<float>>(DeviceType::CUDA, kFloat32, "cuda.hand", -2));
  registry.add(make_kernel<MatmulParams, &matmul_tiled_cuda<double>>(DeviceType::CUDA, kFloat64, "cuda.hand", -2));
}

}  // namespace redes
