// Reading and writing tensors in the safetensors format
// (https://huggingface.co/docs/safetensors): an 8-byte little-endian header
// length, a JSON header mapping each name to {dtype, shape, data_offsets},
// then the raw little-endian data. Files exchange weights with PyTorch and
// other frameworks.
#pragma once

#include <map>
#include <string>
#include <utility>
#include <vector>

#include "core/export.h"
#include "core/tensor.h"
#include "train/io/atomic_file.h"  // remove_stale_temporaries

namespace redes {

using NamedTensors = std::vector<std::pair<std::string, Tensor>>;

// Writes `tensors` (any devices; copied to the host) to `path` atomically: a
// temporary file in the same folder (`path`.tmp.<pid>) is written, flushed
// and renamed over `path`, and the folder is flushed after the rename, so a
// crash never leaves a half-written file in its place.
REDES_API void save_safetensors(const NamedTensors& tensors, const std::string& path,
                                const std::map<std::string, std::string>& metadata = {});


// Reads every tensor of `path` onto the CPU, in file order. The file is
// treated as hostile: a header length beyond the file, invalid JSON, unknown
// dtypes, shapes that disagree with their byte ranges, ranges out of bounds,
// overlapping or leaving gaps — each is a redes::Error naming the file.
REDES_API NamedTensors load_safetensors(const std::string& path);
REDES_API std::map<std::string, std::string> load_safetensors_metadata(const std::string& path);

}  // namespace redes
