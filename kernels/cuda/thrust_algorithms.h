// Device-wide sorting and stream compaction through Thrust
// (kernels/cuda/thrust_algorithms.cu), for the CUDA kernels of sort and
// nonzero (kernels/cuda/sort.cu). On a GPU they run on `stream` through
// Thrust's CUDA backend. In the emulated CUDA build Thrust runs on its C++
// backend, on the calling thread, so the caller first waits for the stream's
// earlier work. This header names no CUDA type, so that file compiles in the
// emulated build without the emulated runtime (Thrust's headers bring the
// toolkit's own declarations).
#pragma once

#include <cstdint>

namespace redes::cuda::thrust_algorithms {

// Sorts each of `rows` rows of `length` elements of `values` in place,
// stably, by SortBefore (kernels/sort_order.h); indices[i] becomes the
// position in its row that values[i] had before. `scratch` holds rows *
// length int64 (unused for one row). Instantiated for the sortable dtypes.
template <class T>
void sort_rows(T* values, std::int64_t* indices, std::int64_t* scratch, std::int64_t rows, std::int64_t length,
               bool descending, void* stream);

// Writes the positions i < n where input[i] is non-zero (is_nonzero_element)
// to `positions` in ascending order and returns their number, once they are
// written.
template <class T>
std::int64_t nonzero_positions(const T* input, std::int64_t n, std::int64_t* positions, void* stream);

}  // namespace redes::cuda::thrust_algorithms
