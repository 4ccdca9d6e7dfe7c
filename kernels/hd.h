// REDES_HD marks per-element logic shared by CPU and CUDA code: compiled for
// the device by nvcc and as plain inline C++ everywhere else, so the CPU
// tests exercise the same functions the CUDA kernels call.
#pragma once

#if defined(__CUDACC__)
#define REDES_HD __host__ __device__ __forceinline__
#else
#define REDES_HD inline
#endif
