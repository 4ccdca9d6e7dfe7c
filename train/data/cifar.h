// CIFAR-10/100 binary batches, and the deterministic synthetic CIFAR-like
// data W3 (cifar-cnn) trains on when no real copy is given.
#pragma once

#include <cstdint>
#include <filesystem>
#include <vector>

#include "core/export.h"
#include "train/data/dataset.h"

namespace redes::data {

enum class CifarFormat : unsigned char {
  Cifar10,   // record: label byte + 3072 pixel bytes
  Cifar100,  // record: coarse label byte + fine label byte + 3072 pixel bytes
};

struct CifarOptions {
  CifarFormat format = CifarFormat::Cifar100;
  bool coarse_labels = false;  // CIFAR-100 only: the 20 superclasses instead of the 100 classes
};

// Records of one or more binary batch files, in order, as images float32
// (N, 3, 32, 32) in [0, 1] (channel planes R, G, B as stored) and labels
// int64 (N). Throws redes::Error naming the file on a missing or empty file,
// a size that is not a whole number of records, or a label out of range.
REDES_API TensorDataset load_cifar(const std::vector<std::filesystem::path>& files, const CifarOptions& options = {});

// The folder of the binary distribution: $REDES_CIFAR10_DIR or
// $REDES_CIFAR100_DIR. No Debian package ships CIFAR, so there is no default:
// throws when the variable is unset.
REDES_API std::filesystem::path cifar_dir(CifarFormat format);

// data_batch_1.bin .. data_batch_5.bin or test_batch.bin.
REDES_API TensorDataset load_cifar10(Split split, const std::filesystem::path& dir = cifar_dir(CifarFormat::Cifar10));
// train.bin or test.bin.
REDES_API TensorDataset load_cifar100(Split split, bool coarse_labels = false,
                                      const std::filesystem::path& dir = cifar_dir(CifarFormat::Cifar100));

// `count` random images float32 (N, 3, 32, 32) uniform in [0, 1) and random
// labels int64 in [0, classes), drawn from a redes::Generator seeded with
// `seed`: the same seed gives the same data on every machine.
REDES_API TensorDataset synthetic_cifar(std::int64_t count, std::int64_t classes = 100, std::uint64_t seed = 0);

}  // namespace redes::data
