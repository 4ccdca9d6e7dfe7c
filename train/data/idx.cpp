#include "train/data/idx.h"

#include <zlib.h>

#include <array>
#include <fstream>
#include <memory>
#include <string>

#include "train/data/file_io.h"

namespace redes::data {
namespace {

using detail::fail_file;

// Fashion-MNIST's largest file holds 47 MB; a header promising more than this
// is refused before anything is allocated.
constexpr std::uint64_t kMaxPayload = 1ull << 30;
// Deflate cannot expand data by more than 1032:1, so a gzip file of n bytes
// holds at most 1032 n bytes: a tiny file claiming huge dims is refused early.
constexpr std::uint64_t kMaxInflateRatio = 1032;
constexpr std::uint64_t kMaxCompressed = kMaxPayload;
constexpr unsigned char kUnsignedByte = 0x08;

// The bytes of an IDX file, read in order.
class Source {
 public:
  virtual ~Source() = default;
  // Reads up to n bytes; fewer only at the end of the data.
  virtual std::size_t read(unsigned char* out, std::size_t n) = 0;
  // Throws unless the data ends exactly here.
  virtual void expect_end() = 0;
  // Throws unless `payload` more bytes can be what the file holds.
  virtual void check_payload(std::uint64_t payload, const std::string& dims) const = 0;
};

class PlainSource final : public Source {
 public:
  PlainSource(const std::filesystem::path& path, std::uint64_t size)
      : path_(path), size_(size), in_(path, std::ios::binary) {
    if (!in_) fail_file(path_, "cannot open for reading");
  }

  std::size_t read(unsigned char* out, std::size_t n) override {
    in_.read(reinterpret_cast<char*>(out), static_cast<std::streamsize>(n));
    const auto got = static_cast<std::size_t>(in_.gcount());
    consumed_ += got;
    return got;
  }

  void expect_end() override {
    if (consumed_ != size_) fail_file(path_, "file changed while reading (", consumed_, " of ", size_, " bytes read)");
  }

  void check_payload(std::uint64_t payload, const std::string& dims) const override {
    const std::uint64_t remaining = size_ - consumed_;
    if (remaining < payload) {
      fail_file(path_, "truncated: dims ", dims, " need ", payload, " bytes of data, the file has ", remaining);
    }
    if (remaining > payload) {
      fail_file(path_, remaining - payload, " unexpected bytes after the ", payload, " bytes that dims ", dims,
                " describe");
    }
  }

 private:
  std::filesystem::path path_;
  std::uint64_t size_;
  std::uint64_t consumed_ = 0;
  std::ifstream in_;
};

class GzipSource final : public Source {
 public:
  explicit GzipSource(const std::filesystem::path& path)
      : path_(path), compressed_(detail::read_file(path, kMaxCompressed)) {
    // 16 + MAX_WBITS: gzip framing only, with its CRC and length checked at the end.
    if (inflateInit2(&stream_, 16 + MAX_WBITS) != Z_OK) fail_file(path_, "cannot start zlib");
    stream_.next_in = reinterpret_cast<Bytef*>(compressed_.data());
    stream_.avail_in = static_cast<uInt>(compressed_.size());
  }
  ~GzipSource() override { inflateEnd(&stream_); }
  GzipSource(const GzipSource&) = delete;
  GzipSource& operator=(const GzipSource&) = delete;

  std::size_t read(unsigned char* out, std::size_t n) override {
    std::size_t produced = 0;
    // avail_out is 32-bit: large reads go in pieces.
    while (produced < n && !ended_) {
      const std::size_t piece = std::min<std::size_t>(n - produced, 1u << 30);
      stream_.next_out = out + produced;
      stream_.avail_out = static_cast<uInt>(piece);
      const int status = inflate(&stream_, Z_NO_FLUSH);
      produced += piece - stream_.avail_out;
      if (status == Z_STREAM_END) {
        ended_ = true;
      } else if (status == Z_BUF_ERROR && stream_.avail_in == 0) {
        // No progress is possible with the output space given: the input ran out.
        fail_file(path_, "truncated: the gzip stream ends early");
      } else if (status != Z_OK) {
        fail_file(path_, "corrupt gzip data (", stream_.msg != nullptr ? stream_.msg : zError(status), ")");
      }
    }
    return produced;
  }

  void expect_end() override {
    // Inflating to the end verifies the gzip CRC and length trailer.
    unsigned char extra = 0;
    if (read(&extra, 1) != 0) fail_file(path_, "unexpected bytes after the data the dims describe");
    if (stream_.avail_in != 0) fail_file(path_, stream_.avail_in, " unexpected bytes after the end of the gzip stream");
  }

  void check_payload(std::uint64_t payload, const std::string& dims) const override {
    if (payload > kMaxInflateRatio * compressed_.size()) {
      fail_file(path_, "dims ", dims, " need ", payload, " bytes, more than ", compressed_.size(),
                " bytes of gzip data can hold");
    }
  }

 private:
  std::filesystem::path path_;
  std::string compressed_;
  z_stream stream_{};
  bool ended_ = false;
};

bool starts_with_gzip_magic(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::array<unsigned char, 2> magic{};
  in.read(reinterpret_cast<char*>(magic.data()), 2);
  return in.gcount() == 2 && magic[0] == 0x1f && magic[1] == 0x8b;
}

void read_exact(Source& source, unsigned char* out, std::size_t n, const std::filesystem::path& path,
                const char* what) {
  const std::size_t got = source.read(out, n);
  if (got != n) fail_file(path, "truncated: ", what, " needs ", n, " bytes, the file has ", got);
}

std::uint32_t big_endian(const unsigned char* bytes) {
  return static_cast<std::uint32_t>(bytes[0]) << 24 | static_cast<std::uint32_t>(bytes[1]) << 16 |
         static_cast<std::uint32_t>(bytes[2]) << 8 | static_cast<std::uint32_t>(bytes[3]);
}

}  // namespace

Tensor read_idx(const std::filesystem::path& path) {
  const std::uint64_t size = detail::checked_file_size(path);
  std::unique_ptr<Source> source;
  if (starts_with_gzip_magic(path)) {
    source = std::make_unique<GzipSource>(path);
  } else {
    source = std::make_unique<PlainSource>(path, size);
  }

  std::array<unsigned char, 4> header{};
  read_exact(*source, header.data(), header.size(), path, "the IDX header");
  if (header[0] != 0 || header[1] != 0) {
    fail_file(path, "not an IDX file: wrong magic (first bytes ", static_cast<int>(header[0]), " ",
              static_cast<int>(header[1]), ", expected 0 0)");
  }
  if (header[2] != kUnsignedByte) {
    fail_file(path, "unsupported IDX element type ", static_cast<int>(header[2]), " (only 8, unsigned byte)");
  }
  const int ndims = header[3];
  if (ndims < 1 || ndims > 4) fail_file(path, "absurd dim count ", ndims, " (expected 1 to 4)");

  std::array<unsigned char, 16> dim_bytes{};
  read_exact(*source, dim_bytes.data(), static_cast<std::size_t>(ndims) * 4, path, "the dim sizes");
  Shape shape;
  std::string dims = "(";
  std::uint64_t payload = 1;
  for (int d = 0; d < ndims; ++d) {
    const std::uint32_t extent = big_endian(dim_bytes.data() + 4 * d);
    shape.push_back(extent);
    dims += (d > 0 ? ", " : "") + std::to_string(extent);
    if (extent == 0) fail_file(path, "dim ", d, " is 0");
    // payload <= 2^30 before and extent < 2^32, so this cannot overflow.
    payload *= extent;
    if (payload > kMaxPayload) {
      fail_file(path, "absurd dims: ", dims, "... promise more than ", kMaxPayload, " bytes");
    }
  }
  dims += ")";
  source->check_payload(payload, dims);

  Tensor out = empty(shape, {kUInt8, Device::cpu()});
  const std::size_t got = source->read(static_cast<unsigned char*>(out.data_ptr()), static_cast<std::size_t>(payload));
  if (got != payload) fail_file(path, "truncated: dims ", dims, " need ", payload, " bytes of data, got ", got);
  source->expect_end();
  return out;
}

TensorDataset load_idx_classification(const std::filesystem::path& images, const std::filesystem::path& labels,
                                      std::int64_t classes, const ImageOptions& options) {
  REDES_CHECK(classes >= 1 && classes <= 256, "load_idx_classification: classes must be in [1, 256], got ", classes);
  REDES_CHECK(options.std > 0, "load_idx_classification: std must be positive, got ", options.std);
  const Tensor pixels = read_idx(images);
  if (pixels.dim() != 3) fail_file(images, "expected images of dims (N, H, W), got ", shape_str(pixels.shape()));
  const Tensor classes_read = read_idx(labels);
  if (classes_read.dim() != 1) fail_file(labels, "expected labels of dims (N), got ", shape_str(classes_read.shape()));
  const std::int64_t count = pixels.size(0);
  if (classes_read.size(0) != count) {
    fail_file(labels, "holds ", classes_read.size(0), " labels, but ", images.string(), " holds ", count, " images");
  }

  Tensor targets = empty({count}, {kInt64, Device::cpu()});
  const std::uint8_t* label_bytes = classes_read.data<std::uint8_t>();
  std::int64_t* target = targets.data<std::int64_t>();
  for (std::int64_t i = 0; i < count; ++i) {
    if (label_bytes[i] >= classes) {
      fail_file(labels, "label ", i, " is ", static_cast<int>(label_bytes[i]), ", expected below ", classes);
    }
    target[i] = label_bytes[i];
  }

  Tensor inputs = empty({count, 1, pixels.size(1), pixels.size(2)}, {kFloat32, Device::cpu()});
  const float scale = options.normalize ? static_cast<float>(1.0 / (255.0 * options.std)) : 1.0f / 255.0f;
  const float shift = options.normalize ? static_cast<float>(options.mean / options.std) : 0.0f;
  const std::uint8_t* pixel = pixels.data<std::uint8_t>();
  float* input = inputs.data<float>();
  for (std::int64_t i = 0; i < pixels.numel(); ++i) input[i] = static_cast<float>(pixel[i]) * scale - shift;
  return TensorDataset({inputs, targets});
}

std::filesystem::path fashion_mnist_dir() {
  return detail::path_from_env("REDES_FASHION_DIR", "/usr/share/datasets/fashion-mnist");
}

TensorDataset load_fashion_mnist(Split split, const ImageOptions& options, const std::filesystem::path& dir) {
  const std::string prefix = split == Split::Train ? "train" : "t10k";
  // The Debian package ships .gz files; an unpacked copy works as well.
  auto file = [&](const std::string& name) {
    const std::filesystem::path gz = dir / (prefix + "-" + name + ".gz");
    const std::filesystem::path plain = dir / (prefix + "-" + name);
    return std::filesystem::exists(gz) || !std::filesystem::exists(plain) ? gz : plain;
  };
  const std::filesystem::path images = file("images-idx3-ubyte");
  TensorDataset data = load_idx_classification(images, file("labels-idx1-ubyte"), 10, options);
  const Shape& shape = data.tensors()[0].shape();
  if (shape[2] != 28 || shape[3] != 28) {
    fail_file(images, "Fashion-MNIST images are 28x28, got ", shape[2], "x", shape[3]);
  }
  return data;
}

}  // namespace redes::data
