#include "core/build_info.h"

#include "redes_build_config.h"

namespace redes {

BuildInfo build_info() {
  return BuildInfo{REDES_VERSION_STRING, REDES_BUILD_HAS_CUDA != 0, REDES_BUILD_HAS_CUDNN != 0,
                   REDES_BUILD_CUDA_ARCHITECTURES};
}

}  // namespace redes
