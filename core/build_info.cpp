#include "core/build_info.h"

#include "core/runtime.h"
#include "redes_build_config.h"

namespace redes {

BuildInfo build_info() {
  BuildInfo info;
  info.version = REDES_VERSION_STRING;
  info.cuda = REDES_BUILD_HAS_CUDA != 0;
  info.cudnn = REDES_BUILD_HAS_CUDNN != 0;
  info.onednn = REDES_BUILD_HAS_ONEDNN != 0;
  info.onednn_version = detail::onednn_library_version();
  info.onednn_cpu = detail::onednn_cpu_description();
  info.cuda_emulated = REDES_BUILD_CUDA_EMULATED != 0;
  info.cuda_architectures = REDES_BUILD_CUDA_ARCHITECTURES;
#if REDES_BUILD_HAS_CUDNN
  info.cudnn_version = detail::cudnn_library_version();
  info.cudnn_path = detail::cudnn_library_path();
#endif
  return info;
}

}  // namespace redes
