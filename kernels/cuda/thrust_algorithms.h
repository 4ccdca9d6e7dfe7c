// Device-wide sorting and stream compaction through Thrust
// (kernels/cuda/thrust_algorithms.cu), for the CUDA kernels of sort and
// nonzero (kernels/cuda/sort.cu). On a GPU they run on `stream` through
// Thrust's CUDA backend. In the emulated CUDA build Thrust runs on its C++
// backend, on the calling thread, so the caller first waits for the stream's
// earlier work. This header names no CUDA type, so that file compiles in the
// emulated build without the emulated runtime (Thrust's headers bring the
// toolkit's own declarations).
//
// Few instantiations on purpose (each Thrust sort is a large piece of device
// code): keys of four types, and int64 positions; sort.cu widens the other
// dtypes into these keys and gathers the values itself.
#pragma once

#include <cstdint>

namespace redes::cuda::thrust_algorithms {

// Sorts keys[0..n) stably by SortBefore (kernels/sort_order.h), carrying
// positions along: positions[i] becomes the index keys[i] had before.
// Instantiated for float, double, int32 and int64 keys.
template <class Key>
void sort_with_positions(Key* keys, std::int64_t* positions, std::int64_t n, bool descending, void* stream);

// Sorts positions[0..n) stably by position / length (their row), keeping
// the order within each row.
void group_by_row(std::int64_t* positions, std::int64_t n, std::int64_t length, void* stream);

// Writes the i < n with flags[i] != 0 to `positions` in ascending order and
// returns their number, once they are written.
std::int64_t flagged_positions(const std::uint8_t* flags, std::int64_t n, std::int64_t* positions, void* stream);

}  // namespace redes::cuda::thrust_algorithms
