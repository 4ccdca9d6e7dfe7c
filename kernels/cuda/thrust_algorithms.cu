// Thrust for the whole-device steps of sort and nonzero (the design keeps
// sorting and scans in Thrust rather than in new hand kernels). A sort of
// many rows is two stable sorts of all elements: by value, then by row,
// which keeps each row's values in order; Thrust picks its algorithm and its
// temporary memory.
#include "kernels/cuda/thrust_algorithms.h"

#include <thrust/copy.h>
#include <thrust/execution_policy.h>
#include <thrust/iterator/counting_iterator.h>
#include <thrust/sequence.h>
#include <thrust/sort.h>

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

// Orders positions by their row alone. A comparator rather than row keys:
// Thrust then merge-sorts, where row keys with the default order would take
// its radix sort, whose C++ backend binds a null reference (UBSan reports it).
struct RowBefore {
  std::int64_t length;
  REDES_HD bool operator()(std::int64_t a, std::int64_t b) const { return a / length < b / length; }
};

struct IsSet {
  REDES_HD bool operator()(std::uint8_t flag) const { return flag != 0; }
};

}  // namespace

template <class Key>
void sort_with_positions(Key* keys, std::int64_t* positions, std::int64_t n, bool descending, void* stream) {
  const auto on = policy(stream);
  thrust::sequence(on, positions, positions + n);
  thrust::stable_sort_by_key(on, keys, keys + n, positions, SortBefore<Key>{descending});
}

template void sort_with_positions<float>(float*, std::int64_t*, std::int64_t, bool, void*);
template void sort_with_positions<double>(double*, std::int64_t*, std::int64_t, bool, void*);
template void sort_with_positions<std::int32_t>(std::int32_t*, std::int64_t*, std::int64_t, bool, void*);
template void sort_with_positions<std::int64_t>(std::int64_t*, std::int64_t*, std::int64_t, bool, void*);

void group_by_row(std::int64_t* positions, std::int64_t n, std::int64_t length, void* stream) {
  thrust::stable_sort(policy(stream), positions, positions + n, RowBefore{length});
}

std::int64_t flagged_positions(const std::uint8_t* flags, std::int64_t n, std::int64_t* positions, void* stream) {
  const thrust::counting_iterator<std::int64_t> first(0);
  return thrust::copy_if(policy(stream), first, first + n, flags, positions, IsSet{}) - positions;
}

}  // namespace redes::cuda::thrust_algorithms
