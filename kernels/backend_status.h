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

}  // namespace redes
