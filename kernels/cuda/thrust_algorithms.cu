// Thrust for the whole-device steps of sort and nonzero (the design keeps
// sorting and scans in Thrust rather than in new hand kernels). A sort of
// many rows is two stable sorts of all elements: by value, then by row,
// which keeps each row's values in order; Thrust picks its algorithm (a
// merge sort for these comparators) and its temporary memory.
#include "kernels/cuda/thrust_algorithms.h"

#include <thrust/copy.h>
#include <thrust/execution_policy.h>
#include <thrust/iterator/counting_iterator.h>
#include <thrust/iterator/zip_iterator.h>
#include <thrust/sequence.h>
#include <thrust/sort.h>
#include <thrust/transform.h>

#include "core/low_precision.h"
#include "kernels/sort_order.h"

namespace redes::cuda::thrust_algorithms {
namespace {

// The execution policy: the CUDA backend on the caller's stream on a GPU,
// the C++ backend on the calling thread in the emulated build.
#if defined(__CUDACC__)
auto policy(void* stream) { return thrust::cuda::par.on(static_cast<cudaStream_t>(stream)); }
#else
auto policy(void*) { return thrust::cpp::par; }
#endif

struct RowOf {
  std::int64_t length;
  REDES_HD std::int64_t operator()(std::int64_t position) const { return position / length; }
};

struct ColumnOf {
  std::int64_t length;
  REDES_HD std::int64_t operator()(std::int64_t position) const { return position % length; }
};

template <class T>
struct IsNonzero {
  REDES_HD bool operator()(T x) const { return is_nonzero_element(x); }
};

}  // namespace

template <class T>
void sort_rows(T* values, std::int64_t* indices, std::int64_t* scratch, std::int64_t rows, std::int64_t length,
               bool descending, void* stream) {
  const std::int64_t n = rows * length;
  if (n == 0) return;
  const auto on = policy(stream);
  thrust::sequence(on, indices, indices + n);
  thrust::stable_sort_by_key(on, values, values + n, indices, SortBefore<T>{descending});
  if (rows > 1) {
    thrust::transform(on, indices, indices + n, scratch, RowOf{length});
    thrust::stable_sort_by_key(on, scratch, scratch + n, thrust::make_zip_iterator(thrust::make_tuple(values, indices)));
  }
  thrust::transform(on, indices, indices + n, indices, ColumnOf{length});
}

template <class T>
std::int64_t nonzero_positions(const T* input, std::int64_t n, std::int64_t* positions, void* stream) {
  const thrust::counting_iterator<std::int64_t> first(0);
  return thrust::copy_if(policy(stream), first, first + n, input, positions, IsNonzero<T>{}) - positions;
}

#define REDES_SORTABLE(T)                                                                                        \
  template void sort_rows<T>(T*, std::int64_t*, std::int64_t*, std::int64_t, std::int64_t, bool, void*); \
  template std::int64_t nonzero_positions<T>(const T*, std::int64_t, std::int64_t*, void*);
REDES_SORTABLE(float)
REDES_SORTABLE(double)
REDES_SORTABLE(Float16)
REDES_SORTABLE(BFloat16)
REDES_SORTABLE(std::int64_t)
REDES_SORTABLE(std::int32_t)
REDES_SORTABLE(std::uint8_t)
#undef REDES_SORTABLE
template std::int64_t nonzero_positions<bool>(const bool*, std::int64_t, std::int64_t*, void*);

}  // namespace redes::cuda::thrust_algorithms
