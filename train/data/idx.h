// IDX files (the MNIST / Fashion-MNIST format), plain or gzip-compressed, and
// the Fashion-MNIST data set of W2 and W5.
#pragma once

#include <cstdint>
#include <filesystem>

#include "core/export.h"
#include "core/tensor.h"
#include "train/data/dataset.h"

namespace redes::data {

// The array in an IDX file of unsigned bytes (type code 0x08), as a uint8
// tensor of the file's dims (1 to 4 of them). A file starting with the gzip
// magic is inflated on the fly. Throws redes::Error naming the file on a
// missing or empty file, a wrong magic, an unsupported type, absurd dims,
// a payload that disagrees with the dims (truncated or with trailing bytes)
// and corrupt gzip data; sizes are checked before the payload is allocated.
REDES_API Tensor read_idx(const std::filesystem::path& path);

struct ImageOptions {
  // Pixels are scaled to [0, 1]; with `normalize` they become (x - mean) / std.
  // Augmenting (W2) works on the [0, 1] image, so it loads with normalize off
  // and calls normalize() from augment.h afterwards.
  bool normalize = true;
  double mean = 0.2860;
  double std = 0.3530;
};

// An IDX image file (N, H, W) and its IDX label file (N) as images float32
// (N, 1, H, W) and labels int64 (N). Throws when the counts disagree or a
// label is not below `classes`.
REDES_API TensorDataset load_idx_classification(const std::filesystem::path& images,
                                                const std::filesystem::path& labels, std::int64_t classes,
                                                const ImageOptions& options = {});

// $REDES_FASHION_DIR, else the dataset-fashion-mnist path.
REDES_API std::filesystem::path fashion_mnist_dir();

// Fashion-MNIST from `dir`: {train,t10k}-{images-idx3,labels-idx1}-ubyte,
// with .gz (tried first) or without; images (N, 1, 28, 28), 10 classes.
REDES_API TensorDataset load_fashion_mnist(Split split, const ImageOptions& options = {},
                                           const std::filesystem::path& dir = fashion_mnist_dir());

}  // namespace redes::data
