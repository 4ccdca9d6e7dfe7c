// Whether optional backends can run on this machine, for `redes info` and
// the kernels' supports() predicates.
#pragma once

#include <string>

#include "core/export.h"

namespace redes {

// Empty when the cuDNN implementations can run; else why not ("this build has
// no cuDNN", or the failure of loading cuDNN or creating its handle). The
// first call tries once; the answer is remembered.
REDES_API std::string cudnn_unusable_reason();

// Why the library at `path` (a file, or a name the dynamic loader searches
// for) could not serve as redes' cuDNN: it does not load, is not cuDNN of the
// major version this build was made for, or lacks an entry point redes calls.
// Empty when it could. Changes nothing about the cuDNN this process uses
// ($REDES_CUDNN_LIBRARY chooses that).
REDES_API std::string cudnn_library_problem(const std::string& path);

}  // namespace redes
