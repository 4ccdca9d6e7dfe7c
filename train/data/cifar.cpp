#include "train/data/cifar.h"

#include "core/random.h"
#include "train/data/file_io.h"

namespace redes::data {
namespace {

using detail::fail_file;

constexpr std::int64_t kPixels = 3 * 32 * 32;
// The real training batch holds 50,000 images; more than this many images
// (12 GB of float32) is not a CIFAR batch.
constexpr std::uint64_t kMaxImages = 1ull << 20;

}  // namespace

TensorDataset load_cifar(const std::vector<std::filesystem::path>& files, const CifarOptions& options) {
  REDES_CHECK(!files.empty(), "load_cifar: expected at least one batch file");
  REDES_CHECK(options.format == CifarFormat::Cifar100 || !options.coarse_labels,
              "load_cifar: coarse labels exist only in CIFAR-100");
  const bool cifar100 = options.format == CifarFormat::Cifar100;
  const std::uint64_t label_bytes = cifar100 ? 2 : 1;
  const std::uint64_t record = label_bytes + kPixels;
  const int classes = !cifar100 ? 10 : options.coarse_labels ? 20 : 100;

  // Every size is checked before the output is allocated.
  std::uint64_t total = 0;
  std::vector<std::uint64_t> sizes;
  for (const std::filesystem::path& file : files) {
    const std::uint64_t size = detail::checked_file_size(file);
    sizes.push_back(size);
    if (size % record != 0) {
      fail_file(file, size, " bytes is not a whole number of ", cifar100 ? "CIFAR-100" : "CIFAR-10", " records of ",
                record, " bytes (truncated, or the other CIFAR format?)");
    }
    total += size / record;
    if (total > kMaxImages) fail_file(file, "more than ", kMaxImages, " images in all");
  }

  const auto count = static_cast<std::int64_t>(total);
  Tensor images = empty({count, 3, 32, 32}, {kFloat32, Device::cpu()});
  Tensor labels = empty({count}, {kInt64, Device::cpu()});
  float* image = images.data<float>();
  std::int64_t* label = labels.data<std::int64_t>();
  std::int64_t next = 0;
  for (std::size_t f = 0; f < files.size(); ++f) {
    const std::filesystem::path& file = files[f];
    const std::string bytes = detail::read_file(file, sizes[f]);
    // The output was sized from the first look at each file.
    if (bytes.size() != sizes[f]) fail_file(file, "changed size while reading");
    for (std::uint64_t offset = 0; offset < bytes.size(); offset += record, ++next) {
      const auto* data = reinterpret_cast<const unsigned char*>(bytes.data() + offset);
      // CIFAR-100 stores the coarse label first, then the fine one.
      const int value = data[cifar100 && !options.coarse_labels ? 1 : 0];
      if (value >= classes) {
        fail_file(file, "record ", offset / record, " has label ", value, ", expected below ", classes);
      }
      label[next] = value;
      for (std::int64_t p = 0; p < kPixels; ++p) {
        image[next * kPixels + p] = static_cast<float>(data[label_bytes + static_cast<std::uint64_t>(p)]) / 255.0f;
      }
    }
  }
  return TensorDataset({images, labels});
}

std::filesystem::path cifar_dir(CifarFormat format) {
  const char* variable = format == CifarFormat::Cifar10 ? "REDES_CIFAR10_DIR" : "REDES_CIFAR100_DIR";
  const std::filesystem::path dir = detail::path_from_env(variable, {});
  REDES_CHECK(!dir.empty(), "no CIFAR copy: set ", variable, " to the folder of the binary batches, or pass one");
  return dir;
}

TensorDataset load_cifar10(Split split, const std::filesystem::path& dir) {
  std::vector<std::filesystem::path> files;
  if (split == Split::Train) {
    for (int batch = 1; batch <= 5; ++batch) files.push_back(dir / ("data_batch_" + std::to_string(batch) + ".bin"));
  } else {
    files.push_back(dir / "test_batch.bin");
  }
  return load_cifar(files, {CifarFormat::Cifar10, false});
}

TensorDataset load_cifar100(Split split, bool coarse_labels, const std::filesystem::path& dir) {
  return load_cifar({dir / (split == Split::Train ? "train.bin" : "test.bin")}, {CifarFormat::Cifar100, coarse_labels});
}

TensorDataset synthetic_cifar(std::int64_t count, std::int64_t classes, std::uint64_t seed) {
  REDES_CHECK(count >= 1 && static_cast<std::uint64_t>(count) <= kMaxImages, "synthetic_cifar: count must be in [1, ",
              kMaxImages, "], got ", count);
  REDES_CHECK(classes >= 1 && classes <= (std::int64_t{1} << 32), "synthetic_cifar: classes must be in [1, 2^32], got ",
              classes);
  Generator generator(seed);
  Tensor images = rand({count, 3, 32, 32}, {}, &generator);
  // 32-bit draws reduced modulo `classes`; the bias (classes / 2^32) is negligible.
  std::vector<std::int64_t> labels = random_bits({count}, Device::cpu(), &generator).to_vector<std::int64_t>();
  for (std::int64_t& value : labels) value %= classes;
  return TensorDataset({images, from_vector(labels, {count}, {kInt64})});
}

}  // namespace redes::data
