// How CPU kernels use threads (the policy is core/threading.h): a range is
// cut into contiguous chunks, one per thread, and each chunk runs on one
// thread of an OpenMP team. Chunk bodies must not throw (an exception cannot
// leave an OpenMP region) and may write only what belongs to their own chunk.
#pragma once

#include <omp.h>

#include <algorithm>
#include <cstdint>
#include <vector>

#include "core/threading.h"

namespace redes::cpu {

// How many chunks [0, count) is cut into: one per thread, but none under
// `grain` elements, so an op too small to repay waking a team runs on the
// calling thread alone. So is a call made from inside a parallel region
// (nested teams would oversubscribe the cores). Depends only on count, grain
// and get_num_threads() (asked first, so a bad REDES_NUM_THREADS is reported
// by the first kernel, whatever its size).
inline int chunk_count(std::int64_t count, std::int64_t grain) {
  const int threads = get_num_threads();
  if (threads == 1 || count < 2 * grain || omp_in_parallel()) return 1;
  return static_cast<int>(std::min<std::int64_t>(threads, count / grain));
}

// Calls body(chunk, lo, hi) for each of `chunks` contiguous, in-order pieces
// of [begin, end) whose sizes differ by at most one.
template <class Body>
void run_chunks(std::int64_t begin, std::int64_t end, int chunks, Body&& body) {
  const std::int64_t count = end - begin;
  auto bounds = [&](int c) { return begin + count * c / chunks; };
  if (chunks == 1) {
    body(0, begin, end);
    return;
  }
#pragma omp parallel num_threads(chunks)
  {
    // A team smaller than asked for (OMP_THREAD_LIMIT) still covers every chunk.
    for (int c = omp_get_thread_num(); c < chunks; c += omp_get_num_threads()) body(c, bounds(c), bounds(c + 1));
  }
}

// Runs body(lo, hi) over [begin, end) in chunks of at least `grain` elements,
// in parallel when there is more than one chunk.
template <class Body>
void parallel_for(std::int64_t begin, std::int64_t end, std::int64_t grain, Body&& body) {
  if (end <= begin) return;
  run_chunks(begin, end, chunk_count(end - begin, grain),
             [&](int, std::int64_t lo, std::int64_t hi) { body(lo, hi); });
}

// The sum of body(lo, hi) over the chunks parallel_for would make, added in
// chunk order: the result depends on the thread count, never on which thread
// finished first.
template <class Acc, class Body>
Acc parallel_sum(std::int64_t begin, std::int64_t end, std::int64_t grain, Body&& body) {
  if (end <= begin) return Acc(0);
  const int chunks = chunk_count(end - begin, grain);
  if (chunks == 1) return body(begin, end);
  std::vector<Acc> partials(static_cast<std::size_t>(chunks));
  run_chunks(begin, end, chunks, [&](int c, std::int64_t lo, std::int64_t hi) { partials[c] = body(lo, hi); });
  Acc total = 0;
  for (const Acc partial : partials) total += partial;
  return total;
}

}  // namespace redes::cpu
