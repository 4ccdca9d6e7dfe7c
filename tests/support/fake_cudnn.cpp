// A library that looks like cuDNN to the loader's first question only:
// cudnnGetVersion answers FAKE_CUDNN_VERSION and nothing else is there. The
// loader tests use it as "an old cuDNN" and "a cuDNN 9 missing entry points".
#include <cstddef>

extern "C" __attribute__((visibility("default"))) std::size_t cudnnGetVersion() { return FAKE_CUDNN_VERSION; }
