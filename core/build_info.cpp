#include "core/build_info.h"

#include "core/runtime.h"
#include "redes_build_config.h"

namespace redes {

BuildInfo build_info() {
  BuildInfo info{REDES_VERSION_STRING, REDES_BUILD_HAS_CUDA != 0, REDES_BUILD_HAS_CUDNN != 0,
                 REDES_BUILD_CUDA_ARCHITECTURES, "", ""};
#if REDES_BUILD_HAS_CUDNN
  info.cudnn_version = detail::cudnn_library_version();
  info.cudnn_path = detail::cudnn_library_path();
#endif
  return info;
}

}  // namespace redes
