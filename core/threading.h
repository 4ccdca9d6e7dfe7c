// The one CPU threading policy. Large CPU kernels split their loops over an
// OpenMP team, and OpenBLAS (Debian's OpenMP build) runs its GEMMs on the same
// libgomp pool, so the two never oversubscribe the cores. Small ops stay on
// the calling thread: waking a team costs microseconds.
#pragma once

#include <string_view>

#include "core/export.h"

namespace redes {

// Threads CPU kernels may use, from 1 to 1024; throws a redes::Error outside
// that range. Also sets the calling thread's OpenMP count (omp_set_num_threads),
// which is what OpenBLAS sizes its team by.
REDES_API void set_num_threads(int threads);
// The count in use: the last set_num_threads, else REDES_NUM_THREADS (read at
// the first call; an invalid value throws), else OpenMP's default
// (OMP_NUM_THREADS, or the number of cores).
REDES_API int get_num_threads();

namespace detail {
// A REDES_NUM_THREADS value: a whole number from 1 to 1024; anything else
// throws a redes::Error naming the variable and the value.
REDES_API int parse_num_threads(std::string_view value);
}  // namespace detail

}  // namespace redes
