// The CPU threading policy: set/get, REDES_NUM_THREADS parsing, and kernels
// that give the same results on one thread and on several.
#include <gtest/gtest.h>

#include <functional>
#include <string>
#include <vector>

#include "support/test_support.h"

namespace redes {
namespace {

// Large enough that every kernel below splits its work over threads.
constexpr std::int64_t kRows = 700, kCols = 600;

// f() computed with `threads` threads, the previous count restored after.
std::vector<double> with_threads(int threads, const std::function<Tensor()>& f) {
  const int previous = get_num_threads();
  set_num_threads(threads);
  std::vector<double> values = testing::host_values(f());
  set_num_threads(previous);
  return values;
}

// Exactly equal values on 1 and on 4 threads (4 > cores on small machines too).
void expect_thread_count_invariant(const std::function<Tensor()>& f) {
  const std::vector<double> one = with_threads(1, f);
  const std::vector<double> four = with_threads(4, f);
  ASSERT_EQ(one.size(), four.size());
  std::size_t mismatches = 0;
  for (std::size_t i = 0; i < one.size(); ++i) {
    if (one[i] != four[i] && ++mismatches <= 5) ADD_FAILURE() << "element " << i << ": " << one[i] << " vs " << four[i];
  }
  EXPECT_EQ(mismatches, 0u);
}

TEST(ThreadingTest, SetAndGet) {
  const int previous = get_num_threads();
  EXPECT_GE(previous, 1);
  set_num_threads(3);
  EXPECT_EQ(get_num_threads(), 3);
  set_num_threads(1);
  EXPECT_EQ(get_num_threads(), 1);
  EXPECT_THROW(set_num_threads(0), Error);
  EXPECT_THROW(set_num_threads(-2), Error);
  EXPECT_THROW(set_num_threads(1025), Error);
  EXPECT_EQ(get_num_threads(), 1);
  set_num_threads(previous);
}

TEST(ThreadingTest, ParsesNumThreadsVariable) {
  EXPECT_EQ(detail::parse_num_threads("1"), 1);
  EXPECT_EQ(detail::parse_num_threads("16"), 16);
  EXPECT_EQ(detail::parse_num_threads("1024"), 1024);
  for (const char* bad : {"", "0", "-1", "1025", "four", "4x", " 4", "+4", "2.5", "99999999999"}) {
    try {
      detail::parse_num_threads(bad);
      ADD_FAILURE() << "accepted '" << bad << "'";
    } catch (const Error& error) {
      const std::string message = error.what();
      EXPECT_NE(message.find("REDES_NUM_THREADS"), std::string::npos) << message;
      EXPECT_NE(message.find(std::string("'") + bad + "'"), std::string::npos) << message;
    }
  }
}

TEST(ThreadingTest, ElementwiseIsIdenticalOnAnyThreadCount) {
  const Tensor a = testing::random_tensor({kRows, kCols}, 1);
  const Tensor b = testing::random_tensor({kRows, kCols}, 2);
  const Tensor bias = testing::random_tensor({kCols}, 3);
  const Tensor square = testing::random_tensor({kCols, kCols}, 4);
  expect_thread_count_invariant([&] { return a + b; });                // dense
  expect_thread_count_invariant([&] { return a * bias; });             // broadcast: strided runs
  expect_thread_count_invariant([&] { return square.t() - square; });  // transposed operand
  expect_thread_count_invariant([&] { return a.exp(); });
  expect_thread_count_invariant([&] { return square.t().contiguous(); });
  expect_thread_count_invariant([&] { return a.slice(1, 1, kCols, 3).relu(); });  // odometer across rows
  expect_thread_count_invariant([&] { return full({kRows, kCols}, 2.5); });
}

TEST(ThreadingTest, SumsAgreeOnAnyThreadCount) {
  const Tensor a = testing::random_tensor({kRows, kCols}, 5);
  const Tensor a64 = a.to(kFloat64);
  const std::vector<std::function<Tensor()>> sums = {
      [&] { return a.sum(); },          [&] { return a.sum({0}); },       [&] { return a.sum({1}); },
      [&] { return a.t().sum(); },      [&] { return a64.sum(); },        [&] { return a.slice(1, 0, kCols, 2).sum(); },
      [&] { return (a * 1000.0).to(kInt64).sum(); }};
  for (const auto& sum : sums) {
    // Partial sums per thread change the order of the float64 additions,
    // which can move a float32 result by one rounding step.
    const std::vector<double> one = with_threads(1, sum);
    const std::vector<double> four = with_threads(4, sum);
    EXPECT_TRUE(testing::all_close(four, one, 1e-12, 1e-6));
    // A fixed thread count always adds in the same order.
    EXPECT_EQ(with_threads(4, sum), four);
  }
  // And every order agrees with a plain float64 sum.
  double expected = 0;
  for (const double value : testing::host_values(a)) expected += value;
  EXPECT_NEAR(with_threads(4, [&] { return a64.sum(); })[0], expected, 1e-9);
}

TEST(ThreadingTest, RandomDrawsAreBitIdenticalOnAnyThreadCount) {
  const Shape shape{100003};
  expect_thread_count_invariant([&] {
    Generator generator(7);
    return rand(shape, {}, &generator);
  });
  expect_thread_count_invariant([&] {
    Generator generator(7);
    return randn(shape, {kFloat64}, &generator);
  });
  expect_thread_count_invariant([&] {
    Generator generator(7);
    return bernoulli(shape, 0.3, {}, &generator);
  });
  expect_thread_count_invariant([&] {
    Generator generator(7);
    return random_bits(shape, Device::cpu(), &generator);
  });
}

}  // namespace
}  // namespace redes
