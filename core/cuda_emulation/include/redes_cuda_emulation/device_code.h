// What CUDA C++ device code uses, for the emulated CUDA build: the execution
// space keywords, the built-in coordinates, barriers, warp intrinsics,
// atomics and the math intrinsics redes's kernels call. Included by the
// emulated cuda_runtime.h, as nvcc makes these visible in every .cu file.
#pragma once

#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <thread>
#include <type_traits>

#define __global__
#define __device__
#define __host__
#define __forceinline__ inline __attribute__((always_inline))
#define __launch_bounds__(...)
#define __constant__
// One instance per block: all threads of a block run as fibers of one host
// thread, and a host thread runs one block at a time (block_runner.h).
#define __shared__ static thread_local

namespace redes::cuda_emulation {

// Outside a kernel, these abort with a message: host code has no CUDA thread.
REDES_CUDA_EMULATION_API void* dynamic_shared_memory();

// __syncthreads: the calling thread waits until every thread of its block
// has arrived.
REDES_CUDA_EMULATION_API void block_barrier();

enum class WarpOp { Sync, ShuffleIndex, ShuffleUp, ShuffleDown, ShuffleXor, Ballot, Any, All };

// One warp-synchronous step: the calling lane deposits `value`, waits until
// every lane named in `mask` has arrived at the same step, and gets its result
// (the shuffled value, or the vote's bits).
REDES_CUDA_EMULATION_API std::uint64_t warp_exchange(WarpOp op, unsigned mask, std::uint64_t value, int operand,
                                                     int width);

template <class T>
T shuffle(WarpOp op, unsigned mask, T value, int operand, int width) {
  static_assert(std::is_trivially_copyable_v<T> && sizeof(T) <= sizeof(std::uint64_t),
                "warp shuffles move values of at most 8 bytes");
  std::uint64_t bits = 0;
  std::memcpy(&bits, &value, sizeof(T));
  bits = warp_exchange(op, mask, bits, operand, width);
  T result;
  std::memcpy(&result, &bits, sizeof(T));
  return result;
}

// Atomics: streams run on separate host threads, so these are real atomics.
template <class T, class Update>
T atomic_update(T* address, Update update) {
  std::atomic_ref<T> ref(*address);
  T old = ref.load(std::memory_order_relaxed);
  while (!ref.compare_exchange_weak(old, update(old), std::memory_order_relaxed)) {
  }
  return old;
}

}  // namespace redes::cuda_emulation

inline constexpr int warpSize = 32;

// The built-in variables: per host thread, and set by the block runner to the
// CUDA thread's values each time it resumes one of its fibers.
extern REDES_CUDA_EMULATION_API thread_local uint3 threadIdx;
extern REDES_CUDA_EMULATION_API thread_local uint3 blockIdx;
extern REDES_CUDA_EMULATION_API thread_local dim3 blockDim;
extern REDES_CUDA_EMULATION_API thread_local dim3 gridDim;

inline void __syncthreads() { redes::cuda_emulation::block_barrier(); }

inline void __syncwarp(unsigned mask = 0xffffffffu) {
  redes::cuda_emulation::warp_exchange(redes::cuda_emulation::WarpOp::Sync, mask, 0, 0, warpSize);
}

template <class T>
T __shfl_sync(unsigned mask, T value, int src_lane, int width = warpSize) {
  return redes::cuda_emulation::shuffle(redes::cuda_emulation::WarpOp::ShuffleIndex, mask, value, src_lane, width);
}
template <class T>
T __shfl_up_sync(unsigned mask, T value, unsigned delta, int width = warpSize) {
  return redes::cuda_emulation::shuffle(redes::cuda_emulation::WarpOp::ShuffleUp, mask, value,
                                        static_cast<int>(delta), width);
}
template <class T>
T __shfl_down_sync(unsigned mask, T value, unsigned delta, int width = warpSize) {
  return redes::cuda_emulation::shuffle(redes::cuda_emulation::WarpOp::ShuffleDown, mask, value,
                                        static_cast<int>(delta), width);
}
template <class T>
T __shfl_xor_sync(unsigned mask, T value, int lane_mask, int width = warpSize) {
  return redes::cuda_emulation::shuffle(redes::cuda_emulation::WarpOp::ShuffleXor, mask, value, lane_mask, width);
}
inline unsigned __ballot_sync(unsigned mask, int predicate) {
  return static_cast<unsigned>(
      redes::cuda_emulation::warp_exchange(redes::cuda_emulation::WarpOp::Ballot, mask, predicate != 0, 0, warpSize));
}
inline int __any_sync(unsigned mask, int predicate) {
  return static_cast<int>(
      redes::cuda_emulation::warp_exchange(redes::cuda_emulation::WarpOp::Any, mask, predicate != 0, 0, warpSize));
}
inline int __all_sync(unsigned mask, int predicate) {
  return static_cast<int>(
      redes::cuda_emulation::warp_exchange(redes::cuda_emulation::WarpOp::All, mask, predicate != 0, 0, warpSize));
}

template <class T>
T atomicAdd(T* address, std::type_identity_t<T> value) {
  static_assert(std::is_arithmetic_v<T>, "atomicAdd takes int, unsigned, unsigned long long, float or double");
  return std::atomic_ref<T>(*address).fetch_add(value, std::memory_order_relaxed);
}
template <class T>
T atomicSub(T* address, std::type_identity_t<T> value) {
  static_assert(std::is_integral_v<T>, "atomicSub takes int or unsigned");
  return std::atomic_ref<T>(*address).fetch_sub(value, std::memory_order_relaxed);
}
template <class T>
T atomicExch(T* address, std::type_identity_t<T> value) {
  return std::atomic_ref<T>(*address).exchange(value, std::memory_order_relaxed);
}
template <class T>
T atomicMax(T* address, std::type_identity_t<T> value) {
  static_assert(std::is_integral_v<T>, "atomicMax takes integers");
  return redes::cuda_emulation::atomic_update(address, [value](T old) { return old < value ? value : old; });
}
template <class T>
T atomicMin(T* address, std::type_identity_t<T> value) {
  static_assert(std::is_integral_v<T>, "atomicMin takes integers");
  return redes::cuda_emulation::atomic_update(address, [value](T old) { return value < old ? value : old; });
}
template <class T>
T atomicCAS(T* address, std::type_identity_t<T> compare, std::type_identity_t<T> value) {
  static_assert(std::is_integral_v<T>, "atomicCAS takes integers");
  std::atomic_ref<T>(*address).compare_exchange_strong(compare, value, std::memory_order_relaxed);
  return compare;
}

// Correctly rounded single operations: never contracted into an FMA.
inline float __fadd_rn(float a, float b) { return a + b; }
inline float __fmul_rn(float a, float b) { return a * b; }
inline double __dadd_rn(double a, double b) { return a + b; }
inline double __dmul_rn(double a, double b) { return a * b; }
inline float __fmaf_rn(float a, float b, float c) { return std::fma(a, b, c); }
inline float __expf(float x) { return std::exp(x); }
inline float __logf(float x) { return std::log(x); }
inline float __fdividef(float a, float b) { return a / b; }
inline float rsqrtf(float x) { return 1.0f / std::sqrt(x); }
inline double rsqrt(double x) { return 1.0 / std::sqrt(x); }
inline float __saturatef(float x) { return x < 0.0f ? 0.0f : (x > 1.0f ? 1.0f : x); }
template <class T>
T __ldg(const T* address) {
  return *address;
}
inline int __popc(unsigned x) { return __builtin_popcount(x); }
inline int __ffs(int x) { return __builtin_ffs(x); }
inline int __clz(int x) { return x == 0 ? 32 : __builtin_clz(static_cast<unsigned>(x)); }
// Sleeps the host thread, so work on one stream can be made slow on purpose.
inline void __nanosleep(unsigned ns) { std::this_thread::sleep_for(std::chrono::nanoseconds(ns)); }
