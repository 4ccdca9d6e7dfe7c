// read_idx and the Fashion-MNIST loader on generated IDX files, plain and
// gzip-compressed, and every class of malformed file.
#include <zlib.h>

#include "data/fixtures.h"
#include "support/test_support.h"

namespace redes::testing {
namespace {

std::string be32(std::uint32_t value) {
  return {static_cast<char>(value >> 24), static_cast<char>(value >> 16), static_cast<char>(value >> 8),
          static_cast<char>(value)};
}

// An IDX file of unsigned bytes with these dims; byte i of the payload is
// (i * 7 + 3) mod 256 unless `payload` is given.
std::string idx_bytes(const std::vector<std::uint32_t>& dims, std::optional<std::string> payload = std::nullopt) {
  std::string out{0, 0, 0x08, static_cast<char>(dims.size())};
  std::size_t count = 1;
  for (std::uint32_t d : dims) {
    out += be32(d);
    count *= d;
  }
  if (!payload) {
    payload = std::string();
    for (std::size_t i = 0; i < count; ++i) payload->push_back(static_cast<char>((i * 7 + 3) % 256));
  }
  return out + *payload;
}

std::string gzip(const std::string& bytes) {
  z_stream stream{};
  EXPECT_EQ(deflateInit2(&stream, 6, Z_DEFLATED, 16 + MAX_WBITS, 8, Z_DEFAULT_STRATEGY), Z_OK);
  std::string out(deflateBound(&stream, static_cast<uLong>(bytes.size())) + 32, '\0');
  stream.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(bytes.data()));
  stream.avail_in = static_cast<uInt>(bytes.size());
  stream.next_out = reinterpret_cast<Bytef*>(out.data());
  stream.avail_out = static_cast<uInt>(out.size());
  EXPECT_EQ(deflate(&stream, Z_FINISH), Z_STREAM_END);
  out.resize(stream.total_out);
  deflateEnd(&stream);
  return out;
}

std::vector<double> expected_payload(std::size_t count) {
  std::vector<double> values;
  for (std::size_t i = 0; i < count; ++i) values.push_back(static_cast<double>((i * 7 + 3) % 256));
  return values;
}

TEST(Idx, ReadsPlainFilesOfOneToFourDims) {
  TempDir dir;
  const std::vector<std::vector<std::uint32_t>> shapes = {{5}, {3, 4}, {2, 3, 4}, {2, 1, 3, 2}};
  for (const auto& dims : shapes) {
    const auto path = write_file(dir / "a.idx", idx_bytes(dims));
    const Tensor t = data::read_idx(path);
    EXPECT_EQ(t.dtype(), kUInt8);
    EXPECT_EQ(t.shape(), Shape(dims.begin(), dims.end()));
    EXPECT_TRUE(all_close(t, expected_payload(static_cast<std::size_t>(t.numel())), 0, 0));
  }
}

TEST(Idx, ReadsGzipFiles) {
  TempDir dir;
  const auto path = write_file(dir / "a.idx.gz", gzip(idx_bytes({3, 28, 28})));
  const Tensor t = data::read_idx(path);
  EXPECT_EQ(t.shape(), (Shape{3, 28, 28}));
  EXPECT_TRUE(all_close(t, expected_payload(3 * 28 * 28), 0, 0));
}

struct Malformed {
  const char* name;
  std::string bytes;
  std::vector<std::string> fragments;
};

TEST(Idx, RefusesMalformedPlainFiles) {
  const std::string good = idx_bytes({2, 3});
  const std::vector<Malformed> cases = {
      {"short header", std::string{0, 0, 8}, {"truncated", "header"}},
      {"wrong magic", std::string{1, 0, 8, 1} + be32(1) + "x", {"wrong magic"}},
      {"text file", "hello world, not idx", {"wrong magic"}},
      {"float type", std::string{0, 0, 0x0D, 1} + be32(1) + "abcd", {"unsupported IDX element type 13"}},
      {"no dims", std::string{0, 0, 8, 0}, {"absurd dim count 0"}},
      {"five dims", std::string{0, 0, 8, 5} + std::string(20, '\1'), {"absurd dim count 5"}},
      {"short dims", std::string{0, 0, 8, 3} + be32(2) + be32(3), {"truncated", "dim sizes"}},
      {"zero dim", idx_bytes({2, 0, 3}, ""), {"dim 1 is 0"}},
      {"absurd dims", idx_bytes({60000, 60000, 60000}, "xx"), {"absurd dims"}},
      {"truncated payload", good.substr(0, good.size() - 1), {"truncated", "(2, 3)", "need 6 bytes", "has 5"}},
      {"trailing bytes", good + "zz", {"2 unexpected bytes"}},
  };
  TempDir dir;
  for (const Malformed& bad : cases) {
    const auto path = write_file(dir / "bad.idx", bad.bytes);
    EXPECT_TRUE(refuses([&] { data::read_idx(path); }, path, bad.fragments)) << bad.name;
  }
  EXPECT_TRUE(refuses([&] { data::read_idx(dir / "absent"); }, dir / "absent", {"no such file"}));
  const auto empty = write_file(dir / "empty", "");
  EXPECT_TRUE(refuses([&] { data::read_idx(empty); }, empty, {"empty"}));
}

TEST(Idx, RefusesMalformedGzipFiles) {
  const std::string packed = gzip(idx_bytes({4, 5, 6}));
  std::string bad_crc = packed;
  bad_crc[bad_crc.size() - 8] = static_cast<char>(bad_crc[bad_crc.size() - 8] ^ 0x55);
  std::string garbage = packed;
  garbage[12] = static_cast<char>(0xff);
  garbage[13] = static_cast<char>(0xff);
  const std::vector<Malformed> cases = {
      {"truncated stream", packed.substr(0, packed.size() / 2), {"truncated"}},
      {"truncated trailer", packed.substr(0, packed.size() - 3), {"truncated", "gzip stream ends early"}},
      {"bad crc", bad_crc, {"corrupt gzip data"}},
      {"header only", packed.substr(0, 10), {"truncated"}},
      {"trailing data", packed + "junk", {"4 unexpected bytes after the end of the gzip stream"}},
      {"payload longer than dims", gzip(idx_bytes({4, 5, 6}) + "x"), {"unexpected bytes after the data"}},
      {"payload shorter than dims",
       gzip(idx_bytes({4, 5, 6}).substr(0, 100)),
       {"truncated", "need 120 bytes", "got 84"}},
      {"dims a small file cannot hold", gzip(idx_bytes({60000, 28, 28}, "")), {"gzip data can hold"}},
      {"wrong magic inside", gzip("not an idx file"), {"wrong magic"}},
  };
  TempDir dir;
  for (const Malformed& bad : cases) {
    const auto path = write_file(dir / "bad.gz", bad.bytes);
    EXPECT_TRUE(refuses([&] { data::read_idx(path); }, path, bad.fragments)) << bad.name;
  }
  // Corrupt deflate data: whichever check catches it, the file is refused.
  const auto path = write_file(dir / "garbage.gz", garbage);
  EXPECT_TRUE(refuses([&] { data::read_idx(path); }, path, {}));
}

TEST(Idx, ClassificationScalesNormalisesAndChecksLabels) {
  TempDir dir;
  const auto images = write_file(dir / "images", idx_bytes({3, 2, 2}));
  const auto labels = write_file(dir / "labels", idx_bytes({3}, std::string{2, 0, 9}));
  const data::TensorDataset raw = data::load_idx_classification(images, labels, 10, {.normalize = false});
  EXPECT_EQ(raw.tensors()[0].shape(), (Shape{3, 1, 2, 2}));
  EXPECT_EQ(raw.tensors()[0].dtype(), kFloat32);
  EXPECT_EQ(raw.tensors()[1].dtype(), kInt64);
  EXPECT_EQ(raw.tensors()[1].to_vector<std::int64_t>(), (std::vector<std::int64_t>{2, 0, 9}));
  std::vector<double> scaled, normalised;
  for (double v : expected_payload(12)) {
    scaled.push_back(v / 255.0);
    normalised.push_back((v / 255.0 - 0.2860) / 0.3530);
  }
  EXPECT_TRUE(all_close(raw.tensors()[0], scaled, 1e-7, 1e-6));
  const data::TensorDataset standard = data::load_idx_classification(images, labels, 10);
  EXPECT_TRUE(all_close(standard.tensors()[0], normalised, 1e-6, 1e-5));

  const auto two_labels = write_file(dir / "two", idx_bytes({2}, std::string{1, 1}));
  EXPECT_TRUE(refuses([&] { data::load_idx_classification(images, two_labels, 10); }, two_labels,
                      {"holds 2 labels", "holds 3 images", images.string()}));
  const auto big_label = write_file(dir / "big", idx_bytes({3}, std::string{1, 12, 1}));
  EXPECT_TRUE(
      refuses([&] { data::load_idx_classification(images, big_label, 10); }, big_label, {"label 1 is 12", "below 10"}));
  const auto flat = write_file(dir / "flat", idx_bytes({3, 4}));
  EXPECT_TRUE(refuses([&] { data::load_idx_classification(flat, labels, 10); }, flat, {"(N, H, W)", "(3, 4)"}));
  EXPECT_TRUE(refuses([&] { data::load_idx_classification(images, images, 10); }, images, {"(N)", "(3, 2, 2)"}));
}

TEST(Idx, FashionMnistFromAFolderOfGzOrPlainFiles) {
  TempDir dir;
  write_file(dir / "train-images-idx3-ubyte.gz", gzip(idx_bytes({4, 28, 28})));
  write_file(dir / "train-labels-idx1-ubyte.gz", gzip(idx_bytes({4}, std::string{0, 3, 5, 9})));
  write_file(dir / "t10k-images-idx3-ubyte", idx_bytes({2, 28, 28}));
  write_file(dir / "t10k-labels-idx1-ubyte", idx_bytes({2}, std::string{7, 1}));
  const data::TensorDataset train = data::load_fashion_mnist(data::Split::Train, {}, dir.path());
  EXPECT_EQ(train.size(), 4);
  EXPECT_EQ(train.tensors()[0].shape(), (Shape{4, 1, 28, 28}));
  const data::TensorDataset test = data::load_fashion_mnist(data::Split::Test, {}, dir.path());
  EXPECT_EQ(test.tensors()[1].to_vector<std::int64_t>(), (std::vector<std::int64_t>{7, 1}));

  ScopedEnv set("REDES_FASHION_DIR", dir.path().c_str());
  EXPECT_EQ(data::fashion_mnist_dir(), dir.path());
  EXPECT_EQ(data::load_fashion_mnist(data::Split::Test).size(), 2);
}

TEST(Idx, FashionMnistRefusesWrongSizesAndMissingFiles) {
  TempDir dir;
  EXPECT_TRUE(refuses([&] { data::load_fashion_mnist(data::Split::Train, {}, dir.path()); },
                      dir / "train-images-idx3-ubyte.gz", {"no such file"}));
  const auto images = write_file(dir / "t10k-images-idx3-ubyte", idx_bytes({2, 27, 28}));
  write_file(dir / "t10k-labels-idx1-ubyte", idx_bytes({2}, std::string{7, 1}));
  EXPECT_TRUE(
      refuses([&] { data::load_fashion_mnist(data::Split::Test, {}, dir.path()); }, images, {"28x28", "27x28"}));
}

TEST(Idx, DefaultFolderIsTheDebianPackage) {
  ScopedEnv unset("REDES_FASHION_DIR", nullptr);
  EXPECT_EQ(data::fashion_mnist_dir(), "/usr/share/datasets/fashion-mnist");
}

}  // namespace
}  // namespace redes::testing
