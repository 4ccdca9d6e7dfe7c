// Reductions across the threads of a warp (shuffles) and of a block (one
// value per warp through shared memory, then one warp), for the reduction
// kernels (sum, max/argmax, softmax, cross-entropy). The combination order
// is fixed by the thread layout, so a kernel built on these gives the same
// bits on every run: no atomics, no order that depends on scheduling.
#pragma once

#include <cuda_runtime.h>

#include <cstdint>
#include <cstring>
#include <type_traits>

namespace redes::cuda {

inline constexpr int kWarpSize = 32;
inline constexpr unsigned kFullWarp = 0xffffffffu;

// __shfl_down_sync for any trivially copyable value: one shuffle for an
// arithmetic type or a value narrower than a word (a 16-bit float, widened
// to one word), one per 4-byte word for a wider struct such as a (value,
// index) pair.
template <class T>
__device__ __forceinline__ T shuffle_down(const T& value, unsigned offset) {
  if constexpr (std::is_arithmetic_v<T>) {
    return __shfl_down_sync(kFullWarp, value, offset);
  } else if constexpr (sizeof(T) < sizeof(unsigned)) {
    static_assert(std::is_trivially_copyable_v<T>, "shuffled values are moved as bytes");
    unsigned word = 0;
    std::memcpy(&word, &value, sizeof(T));
    word = __shfl_down_sync(kFullWarp, word, offset);
    T result;
    std::memcpy(&result, &word, sizeof(T));
    return result;
  } else {
    static_assert(std::is_trivially_copyable_v<T> && sizeof(T) % sizeof(unsigned) == 0,
                  "shuffled structs are moved in 4-byte words");
    unsigned words[sizeof(T) / sizeof(unsigned)];
    std::memcpy(words, &value, sizeof(T));
    for (unsigned& word : words) word = __shfl_down_sync(kFullWarp, word, offset);
    T result;
    std::memcpy(&result, words, sizeof(T));
    return result;
  }
}

// Every lane of the warp takes part; lane 0 gets the combination of all 32
// values (the other lanes hold partial combinations).
template <class T, class Combine>
__device__ __forceinline__ T warp_reduce(T value, Combine combine) {
  for (int offset = kWarpSize / 2; offset > 0; offset /= 2) {
    value = combine(value, shuffle_down(value, static_cast<unsigned>(offset)));
  }
  return value;
}

// Every thread of the block calls it (blockDim.x a multiple of 32, at most
// 1024); thread 0 gets the combination of all values, the others an
// unspecified one. `identity` fills the lanes past the block's last warp.
// The trailing barrier lets a kernel call it again (the shared slots are
// reused).
template <class T, class Combine>
__device__ T block_reduce(T value, Combine combine, T identity) {
  __shared__ T warp_values[kWarpSize];
  const unsigned lane = threadIdx.x % kWarpSize;
  const unsigned warp = threadIdx.x / kWarpSize;
  value = warp_reduce(value, combine);
  if (lane == 0) warp_values[warp] = value;
  __syncthreads();
  if (warp == 0) {
    value = lane < blockDim.x / kWarpSize ? warp_values[lane] : identity;
    value = warp_reduce(value, combine);
  }
  __syncthreads();
  return value;
}

// As block_reduce, but every thread of the block gets the result.
template <class T, class Combine>
__device__ T block_all_reduce(T value, Combine combine, T identity) {
  __shared__ T result;
  value = block_reduce(value, combine, identity);
  if (threadIdx.x == 0) result = value;
  __syncthreads();
  value = result;
  __syncthreads();
  return value;
}

struct Plus {
  template <class T>
  __device__ __forceinline__ T operator()(T a, T b) const {
    return a + b;
  }
};

}  // namespace redes::cuda
