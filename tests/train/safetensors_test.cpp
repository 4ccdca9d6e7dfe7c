// safetensors: round trips, metadata, atomic replacement, hostile files.
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "support/test_support.h"

namespace redes {
namespace {

namespace fs = std::filesystem;
using testing::all_close;

class SafetensorsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    directory_ = fs::temp_directory_path() /
                 ("redes_safetensors_" + std::to_string(::getpid()) + "_" +
                  ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::create_directories(directory_);
  }
  void TearDown() override { fs::remove_all(directory_); }
  std::string file(const std::string& name) const { return (directory_ / name).string(); }

  // Writes a file with this JSON header (padded) and `data_bytes` zero bytes.
  std::string raw_file(const std::string& header, std::size_t data_bytes, std::uint64_t declared_length = 0) {
    const std::string path = file("raw.safetensors");
    std::ofstream out(path, std::ios::binary);
    std::uint64_t length = declared_length ? declared_length : header.size();
    for (int i = 0; i < 8; ++i) out.put(static_cast<char>((length >> (8 * i)) & 0xff));
    out << header << std::string(data_bytes, '\0');
    return path;
  }

  void expect_rejected(const std::string& path, const std::string& fragment) {
    try {
      load_safetensors(path);
      ADD_FAILURE() << "expected redes::Error for " << fragment;
    } catch (const Error& error) {
      const std::string message = error.what();
      EXPECT_NE(message.find(path), std::string::npos) << message;
      EXPECT_NE(message.find(fragment), std::string::npos) << message;
    }
  }

  fs::path directory_;
};

TEST_F(SafetensorsTest, RoundTripsEveryDtypeInOrder) {
  const NamedTensors tensors{
      {"weights", testing::random_tensor({3, 4}, 1)},
      {"double", testing::random_tensor({2}, 2, {kFloat64})},
      {"steps", arange(5, {kInt64})},
      {"small", arange(3, {kInt32})},
      {"bytes", arange(4, {kUInt8})},
      {"mask", arange(3, {kInt64}) > 0.5},
      {"scalar", scalar_tensor(2.5)},
      {"empty", zeros({0, 3})},
      {"transposed", testing::random_tensor({2, 3}, 3).t()},
      {"half", testing::random_tensor({5}, 4).to(kFloat16)},
      {"brain", testing::random_tensor({2, 3}, 5).to(kBFloat16).t()},
  };
  save_safetensors(tensors, file("all.safetensors"), {{"format", "pt"}, {"epoch", "3"}});
  const NamedTensors loaded = load_safetensors(file("all.safetensors"));
  ASSERT_EQ(loaded.size(), tensors.size());
  for (std::size_t i = 0; i < tensors.size(); ++i) {
    EXPECT_EQ(loaded[i].first, tensors[i].first);
    EXPECT_EQ(loaded[i].second.dtype(), tensors[i].second.dtype()) << tensors[i].first;
    EXPECT_TRUE(all_close(loaded[i].second, tensors[i].second, 0, 0)) << tensors[i].first;
  }
  EXPECT_EQ(load_safetensors_metadata(file("all.safetensors")).at("epoch"), "3");
}

// 16-bit values as another writer lays them out: little-endian 2-byte words.
TEST_F(SafetensorsTest, ReadsSixteenBitFloatsByTheirBits) {
  const std::string header = R"({"b": {"dtype": "BF16", "shape": [2], "data_offsets": [0, 4]},)"
                             R"( "h": {"dtype": "F16", "shape": [2], "data_offsets": [4, 8]}})";
  const std::string path = file("sixteen.safetensors");
  {
    std::ofstream out(path, std::ios::binary);
    for (int i = 0; i < 8; ++i) out.put(static_cast<char>((header.size() >> (8 * i)) & 0xff));
    // bfloat16 1.0 (0x3f80) and -2.5 (0xc020); float16 1.0 (0x3c00) and 65504 (0x7bff).
    const unsigned char data[] = {0x80, 0x3f, 0x20, 0xc0, 0x00, 0x3c, 0xff, 0x7b};
    out << header;
    out.write(reinterpret_cast<const char*>(data), sizeof data);
  }
  const NamedTensors loaded = load_safetensors(path);
  ASSERT_EQ(loaded.size(), 2u);
  EXPECT_EQ(loaded[0].second.dtype(), kBFloat16);
  EXPECT_EQ(testing::host_values(loaded[0].second), (std::vector<double>{1.0, -2.5}));
  EXPECT_EQ(loaded[1].second.dtype(), kFloat16);
  EXPECT_EQ(testing::host_values(loaded[1].second), (std::vector<double>{1.0, 65504.0}));
}

TEST_F(SafetensorsTest, SavingReplacesTheFileAndLeavesNoTemporary) {
  save_safetensors({{"a", ones({2})}}, file("model.safetensors"));
  save_safetensors({{"a", zeros({3})}}, file("model.safetensors"));
  EXPECT_EQ(load_safetensors(file("model.safetensors"))[0].second.numel(), 3);
  int files = 0;
  for ([[maybe_unused]] const auto& entry : fs::directory_iterator(directory_)) ++files;
  EXPECT_EQ(files, 1);
  EXPECT_THROW(save_safetensors({{"a", ones({1})}}, file("missing/dir/x.safetensors")), Error);
  EXPECT_THROW(save_safetensors({{"a", ones({1})}, {"a", ones({1})}}, file("dup.safetensors")), Error);
}

TEST_F(SafetensorsTest, TemporariesOfDeadProcessesAreRemoved) {
  const pid_t child = ::fork();
  if (child == 0) ::_exit(0);
  ASSERT_GT(child, 0);
  ::waitpid(child, nullptr, 0);  // now no process has this pid (until the system reuses it)
  const std::string path = file("model.safetensors");
  const std::string dead = path + ".tmp." + std::to_string(child);
  const std::string alive = path + ".tmp." + std::to_string(::getpid());
  const std::string other = file("other.safetensors.tmp." + std::to_string(child));
  const std::string odd = path + ".tmp.x1";
  for (const std::string& name : {dead, alive, other, odd}) std::ofstream(name) << "partial";
  EXPECT_EQ(remove_stale_temporaries(path), 1);
  EXPECT_FALSE(fs::exists(dead));
  EXPECT_TRUE(fs::exists(alive));  // a save in progress in a running process
  EXPECT_TRUE(fs::exists(other));  // another file's temporary
  EXPECT_TRUE(fs::exists(odd));
  EXPECT_EQ(remove_stale_temporaries(file("absent/model.safetensors")), 0);
}

TEST_F(SafetensorsTest, RejectsMalformedFiles) {
  expect_rejected(file("absent.safetensors"), "cannot open");
  { std::ofstream(file("empty.safetensors")); }
  expect_rejected(file("empty.safetensors"), "too short");
  expect_rejected(raw_file("{}", 0, 1000), "runs past the end");
  expect_rejected(raw_file("{not json", 0), "not valid JSON");
  expect_rejected(raw_file("[1, 2]", 0), "must be a JSON object");
  expect_rejected(raw_file(R"({"x": {"dtype": "Q8", "shape": [1], "data_offsets": [0, 1]}})", 1), "unsupported dtype");
  expect_rejected(raw_file(R"({"x": {"dtype": "F32", "shape": [3], "data_offsets": [0, 8]}})", 8), "needs 12 bytes");
  expect_rejected(raw_file(R"({"x": {"dtype": "F32", "shape": [4], "data_offsets": [0, 16]}})", 8),
                  "outside the 8-byte data section");
  expect_rejected(raw_file(R"({"x": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]},)"
                           R"( "y": {"dtype": "F32", "shape": [2], "data_offsets": [4, 12]}})",
                           12),
                  "overlaps");
  expect_rejected(raw_file(R"({"x": {"dtype": "F32", "shape": [1], "data_offsets": [4, 8]}})", 8), "belong to no tensor");
  expect_rejected(raw_file(R"({"x": {"dtype": "F32", "shape": [-1], "data_offsets": [0, 4]}})", 4),
                  "non-negative integers");
  expect_rejected(raw_file(R"({"x": {"dtype": "F32", "shape": [1]}})", 4), "dtype, shape and data_offsets");
  // A file cut short inside its data section.
  save_safetensors({{"w", ones({64})}}, file("whole.safetensors"));
  fs::resize_file(file("whole.safetensors"), fs::file_size(file("whole.safetensors")) - 10);
  expect_rejected(file("whole.safetensors"), "outside");
}

}  // namespace
}  // namespace redes
