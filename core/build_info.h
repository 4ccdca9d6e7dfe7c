// What this build of redes contains, for `redes info` and bug reports.
#pragma once

#include <string>

#include "core/export.h"

namespace redes {

struct BuildInfo {
  std::string version;
  bool cuda = false;   // the CUDA backend was compiled in
  bool cudnn = false;  // the cuDNN implementations were compiled in
  bool onednn = false;  // the oneDNN CPU implementations were compiled in
  // The CUDA backend runs on an emulated device on the host
  // (REDES_CUDA_EMULATION: a test configuration, never a measure of GPU speed).
  bool cuda_emulated = false;
  std::string cuda_architectures;
  std::string cudnn_version;  // of the loaded cuDNN library ("9.x.y"); empty when none is loaded
  std::string cudnn_path;     // the file it was loaded from; empty when none is loaded
  std::string onednn_version;  // of the linked oneDNN library ("2.6.3"); empty without oneDNN
  std::string onednn_cpu;      // its instruction set here and bfloat16 support; empty without oneDNN
};

REDES_API BuildInfo build_info();

}  // namespace redes
