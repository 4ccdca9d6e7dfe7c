// CIFAR-10/100 binary batches on generated files, and the synthetic W3 data.
#include <set>

#include "data/fixtures.h"
#include "support/test_support.h"

namespace redes::testing {
namespace {

// Pixel byte p of record r: (r * 31 + p) mod 251, a pattern that varies
// across records, channels, rows and columns.
unsigned char pixel(std::size_t record, std::size_t p) { return static_cast<unsigned char>((record * 31 + p) % 251); }

std::string records(const std::vector<std::vector<unsigned char>>& labels, std::size_t first_record = 0) {
  std::string out;
  for (std::size_t r = 0; r < labels.size(); ++r) {
    for (unsigned char label : labels[r]) out.push_back(static_cast<char>(label));
    for (std::size_t p = 0; p < 3072; ++p) out.push_back(static_cast<char>(pixel(first_record + r, p)));
  }
  return out;
}

std::vector<double> expected_images(std::size_t count) {
  std::vector<double> values;
  // (N, 3, 32, 32) is the record's byte order: channel planes, rows, columns.
  for (std::size_t r = 0; r < count; ++r) {
    for (std::size_t p = 0; p < 3072; ++p) values.push_back(pixel(r, p) / 255.0);
  }
  return values;
}

TEST(Cifar, ReadsCifar10Records) {
  TempDir dir;
  const auto path = write_file(dir / "data_batch_1.bin", records({{3}, {0}, {9}}));
  const data::TensorDataset d = data::load_cifar({path}, {data::CifarFormat::Cifar10});
  EXPECT_EQ(d.tensors()[0].shape(), (Shape{3, 3, 32, 32}));
  EXPECT_EQ(d.tensors()[0].dtype(), kFloat32);
  EXPECT_EQ(d.tensors()[1].to_vector<std::int64_t>(), (std::vector<std::int64_t>{3, 0, 9}));
  EXPECT_TRUE(all_close(d.tensors()[0], expected_images(3), 1e-7, 1e-6));
}

TEST(Cifar, ReadsCifar100FineOrCoarseLabelsAcrossFiles) {
  TempDir dir;
  const auto first = write_file(dir / "a.bin", records({{19, 99}, {0, 5}}));
  const auto second = write_file(dir / "b.bin", records({{7, 42}}, 2));
  const data::TensorDataset fine = data::load_cifar({first, second});
  EXPECT_EQ(fine.size(), 3);
  EXPECT_EQ(fine.tensors()[1].to_vector<std::int64_t>(), (std::vector<std::int64_t>{99, 5, 42}));
  EXPECT_TRUE(all_close(fine.tensors()[0], expected_images(3), 1e-7, 1e-6));
  const data::TensorDataset coarse = data::load_cifar({first, second}, {data::CifarFormat::Cifar100, true});
  EXPECT_EQ(coarse.tensors()[1].to_vector<std::int64_t>(), (std::vector<std::int64_t>{19, 0, 7}));
}

TEST(Cifar, LoadsTheBinaryDistributionFolders) {
  TempDir dir;
  for (int b = 1; b <= 5; ++b) write_file(dir / ("data_batch_" + std::to_string(b) + ".bin"), records({{1}, {2}}));
  write_file(dir / "test_batch.bin", records({{4}}));
  write_file(dir / "train.bin", records({{1, 10}, {2, 20}}));
  write_file(dir / "test.bin", records({{3, 30}}));
  EXPECT_EQ(data::load_cifar10(data::Split::Train, dir.path()).size(), 10);
  EXPECT_EQ(data::load_cifar10(data::Split::Test, dir.path()).size(), 1);
  EXPECT_EQ(data::load_cifar100(data::Split::Train, false, dir.path()).tensors()[1].to_vector<std::int64_t>(),
            (std::vector<std::int64_t>{10, 20}));
  EXPECT_EQ(data::load_cifar100(data::Split::Test, true, dir.path()).tensors()[1].to_vector<std::int64_t>(),
            (std::vector<std::int64_t>{3}));

  ScopedEnv set("REDES_CIFAR100_DIR", dir.path().c_str());
  EXPECT_EQ(data::load_cifar100(data::Split::Test).size(), 1);
}

TEST(Cifar, WithoutAFolderTheErrorSaysWhichVariableToSet) {
  ScopedEnv unset("REDES_CIFAR100_DIR", nullptr);
  try {
    data::load_cifar100(data::Split::Train);
    FAIL() << "did not throw";
  } catch (const Error& error) {
    EXPECT_NE(std::string(error.what()).find("REDES_CIFAR100_DIR"), std::string::npos) << error.what();
  }
}

TEST(Cifar, RefusesMalformedFiles) {
  TempDir dir;
  const std::string two = records({{1}, {2}});
  const auto truncated = write_file(dir / "truncated.bin", two.substr(0, two.size() - 1));
  EXPECT_TRUE(refuses([&] { data::load_cifar({truncated}, {data::CifarFormat::Cifar10}); }, truncated,
                      {"6145 bytes", "whole number", "3073"}));
  // Two CIFAR-10 records (6146 bytes) read as CIFAR-100 (3074-byte records)
  // happen to divide; three (9219 bytes) do not.
  const auto cifar10 = write_file(dir / "ten.bin", records({{1}, {2}, {3}}));
  EXPECT_TRUE(refuses([&] { data::load_cifar({cifar10}); }, cifar10, {"CIFAR-100 records of 3074 bytes"}));
  const auto bad_label = write_file(dir / "label.bin", records({{1}, {10}}));
  EXPECT_TRUE(refuses([&] { data::load_cifar({bad_label}, {data::CifarFormat::Cifar10}); }, bad_label,
                      {"record 1 has label 10", "below 10"}));
  const auto bad_fine = write_file(dir / "fine.bin", records({{1, 100}}));
  EXPECT_TRUE(refuses([&] { data::load_cifar({bad_fine}); }, bad_fine, {"label 100", "below 100"}));
  const auto bad_coarse = write_file(dir / "coarse.bin", records({{20, 1}}));
  EXPECT_TRUE(refuses(
      [&] {
        data::load_cifar({bad_coarse}, {data::CifarFormat::Cifar100, true});
      },
      bad_coarse, {"label 20", "below 20"}));
  const auto empty = write_file(dir / "empty.bin", "");
  EXPECT_TRUE(refuses([&] { data::load_cifar({empty}); }, empty, {"empty"}));
  EXPECT_TRUE(refuses([&] { data::load_cifar({dir / "absent.bin"}); }, dir / "absent.bin", {"no such file"}));
  EXPECT_THROW(data::load_cifar({}), Error);
  EXPECT_THROW(data::load_cifar({cifar10}, {data::CifarFormat::Cifar10, true}), Error);
}

TEST(Cifar, SyntheticDataIsDeterministicAndInRange) {
  const data::TensorDataset a = data::synthetic_cifar(64, 100, 7);
  const data::TensorDataset b = data::synthetic_cifar(64, 100, 7);
  const data::TensorDataset c = data::synthetic_cifar(64, 100, 8);
  EXPECT_EQ(a.tensors()[0].shape(), (Shape{64, 3, 32, 32}));
  EXPECT_EQ(a.tensors()[1].dtype(), kInt64);
  EXPECT_EQ(host_values(a.tensors()[0]), host_values(b.tensors()[0]));
  EXPECT_EQ(a.tensors()[1].to_vector<std::int64_t>(), b.tensors()[1].to_vector<std::int64_t>());
  EXPECT_NE(host_values(a.tensors()[0]), host_values(c.tensors()[0]));
  for (double v : host_values(a.tensors()[0])) {
    ASSERT_GE(v, 0.0);
    ASSERT_LT(v, 1.0);
  }
  std::set<std::int64_t> seen;
  for (std::int64_t label : a.tensors()[1].to_vector<std::int64_t>()) {
    ASSERT_GE(label, 0);
    ASSERT_LT(label, 100);
    seen.insert(label);
  }
  EXPECT_GT(seen.size(), 30u);  // 64 draws from 100 classes hit about 47 of them
  EXPECT_THROW(data::synthetic_cifar(0), Error);
  EXPECT_THROW(data::synthetic_cifar(4, 0), Error);
}

}  // namespace
}  // namespace redes::testing
