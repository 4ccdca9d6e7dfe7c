// Collectives across the ranks of an MPI job. ctest runs this program alone
// (a world of one) and under `mpirun -np 2`; every expectation holds for any
// world size.
#include <gtest/gtest.h>

#include <redes.h>

#include "support/test_support.h"

#include <string>
#include <vector>

namespace redes {
namespace {

int world() { return dist::world_size(); }
int me() { return dist::rank(); }

// Rank r's value at element i: different on every rank and element, and
// exact in every dtype tested.
double value(int r, std::int64_t i) { return 3.0 * (r + 1) + static_cast<double>(i % 97); }

Tensor of_rank(int r, std::int64_t n, DType dtype) {
  std::vector<double> values(static_cast<std::size_t>(n));
  for (std::int64_t i = 0; i < n; ++i) values[static_cast<std::size_t>(i)] = value(r, i);
  return from_vector<double>(values, {n}, {.dtype = dtype});
}

std::vector<double> values_of(const Tensor& tensor) { return tensor.to(kFloat64).contiguous().to_vector<double>(); }

TEST(Collectives, WorldMatchesTheLauncher) {
  const char* size = std::getenv("OMPI_COMM_WORLD_SIZE");
  EXPECT_EQ(world(), size != nullptr ? std::atoi(size) : 1);
  EXPECT_GE(me(), 0);
  EXPECT_LT(me(), world());
  EXPECT_GE(dist::local_rank(), 0);
  EXPECT_EQ(dist::is_main_process(), me() == 0);
}

TEST(Collectives, AllReduceSumsEveryDtypeAndSize) {
  for (const DType dtype : {kFloat32, kFloat64, kInt64, kInt32}) {
    for (const std::int64_t n : {std::int64_t{1}, std::int64_t{7}, std::int64_t{4099}, (std::int64_t{1} << 20) + 3}) {
      Tensor mine = of_rank(me(), n, dtype);
      dist::all_reduce(mine);
      const std::vector<double> got = mine.to(kFloat64).to_vector<double>();
      for (std::int64_t i = 0; i < n; i += (n > 10000 ? 997 : 1)) {
        double expected = 0;
        for (int r = 0; r < world(); ++r) expected += value(r, i);
        ASSERT_EQ(got[static_cast<std::size_t>(i)], expected) << dtype_name(dtype) << " n=" << n << " i=" << i;
      }
    }
  }
}

TEST(Collectives, AverageMaxAndMin) {
  const std::int64_t n = 33;
  Tensor average = of_rank(me(), n, kFloat64), largest = average.clone(), smallest = average.clone();
  dist::all_reduce(average, dist::ReduceOp::Average);
  dist::all_reduce(largest, dist::ReduceOp::Max);
  dist::all_reduce(smallest, dist::ReduceOp::Min);
  for (std::int64_t i = 0; i < n; ++i) {
    double sum = 0;
    for (int r = 0; r < world(); ++r) sum += value(r, i);
    EXPECT_DOUBLE_EQ(average.to_vector<double>()[static_cast<std::size_t>(i)], sum / world());
    EXPECT_EQ(largest.to_vector<double>()[static_cast<std::size_t>(i)], value(world() - 1, i));
    EXPECT_EQ(smallest.to_vector<double>()[static_cast<std::size_t>(i)], value(0, i));
  }
}

TEST(Collectives, AllReduceWritesANonContiguousTensorInPlace) {
  Tensor base = of_rank(me(), 15, kFloat32).reshape({3, 5});
  Tensor view = base.transpose(0, 1);  // 5x3, not contiguous
  ASSERT_FALSE(view.is_contiguous());
  dist::all_reduce(view);
  const std::vector<float> got = base.to_vector<float>();
  for (std::int64_t i = 0; i < 15; ++i) {
    double expected = 0;
    for (int r = 0; r < world(); ++r) expected += value(r, i);
    EXPECT_EQ(got[static_cast<std::size_t>(i)], expected) << i;
  }
}

TEST(Collectives, BoolSumIsALogicalOr) {
  Tensor flags = from_vector<double>({me() == 0 ? 1.0 : 0.0, me() == 0 ? 0.0 : 1.0, 0.0}, {3}, {.dtype = kBool});
  dist::all_reduce(flags);
  EXPECT_EQ(flags.to(kInt64).to_vector<std::int64_t>(), (std::vector<std::int64_t>{1, world() > 1 ? 1 : 0, 0}));
}

TEST(Collectives, AnAverageOfIntegersIsRefused) {
  Tensor counts = of_rank(me(), 4, kInt64);
  EXPECT_THROW(dist::all_reduce(counts, dist::ReduceOp::Average), Error);
}

TEST(Collectives, BroadcastFromEveryRoot) {
  for (int root = 0; root < world(); ++root) {
    Tensor mine = of_rank(me(), 1001, kFloat32);
    dist::broadcast(mine, root);
    EXPECT_EQ(values_of(mine), values_of(of_rank(root, 1001, kFloat32))) << "root " << root;
  }
  Tensor mine = of_rank(me(), 3, kFloat32);
  EXPECT_THROW(dist::broadcast(mine, world()), Error);
}

TEST(Collectives, AllGatherStacksEveryRanksTensor) {
  const Tensor gathered = dist::all_gather(of_rank(me(), 6, kFloat64).reshape({2, 3}));
  ASSERT_EQ(gathered.shape(), (Shape{world(), 2, 3}));
  for (int r = 0; r < world(); ++r) {
    EXPECT_EQ(values_of(gathered.select(0, r)), values_of(of_rank(r, 6, kFloat64))) << "rank " << r;
  }
}

TEST(Collectives, AllGatherOfShapesThatDifferThrowsOnEveryRank) {
  if (world() == 1) GTEST_SKIP() << "needs two ranks";
  try {
    dist::all_gather(of_rank(me(), me() + 1, kFloat32));
    FAIL() << "expected an error";
  } catch (const Error& error) {
    EXPECT_NE(std::string(error.what()).find("rank 0 gave float32 (1,), rank 1 gave float32 (2,)"), std::string::npos)
        << error.what();
  }
}

TEST(Collectives, AsyncAllReducesCompleteInOrder) {
  Tensor first = of_rank(me(), 100000, kFloat32), second = of_rank(me(), 10, kFloat64);
  dist::Work a = dist::all_reduce_async(first);
  dist::Work b = dist::all_reduce_async(second, dist::ReduceOp::Max);
  b.wait();
  a.wait();
  EXPECT_TRUE(a.ready());
  EXPECT_GE(a.seconds(), 0.0);
  double expected = 0;
  for (int r = 0; r < world(); ++r) expected += value(r, 99999);
  EXPECT_EQ(first.to_vector<float>()[99999], expected);
  EXPECT_EQ(second.to_vector<double>()[9], value(world() - 1, 9));
}

TEST(Collectives, CudaTensorsTravelToo) {
  REDES_REQUIRE_DEVICE(Device::cuda());
  Tensor mine = of_rank(me(), 4099, kFloat32).to(Device::cuda());
  dist::all_reduce(mine, dist::ReduceOp::Average);
  Tensor root = of_rank(me(), 5, kFloat64).to(Device::cuda());
  dist::broadcast(root, 0);
  const Tensor gathered = dist::all_gather(of_rank(me(), 3, kFloat32).to(Device::cuda()));
  EXPECT_TRUE(mine.device().is_cuda());
  const std::vector<double> got = values_of(mine);
  for (std::int64_t i = 0; i < 4099; i += 13) {
    double sum = 0;
    for (int r = 0; r < world(); ++r) sum += value(r, i);
    EXPECT_NEAR(got[static_cast<std::size_t>(i)], sum / world(), 1e-4) << i;
  }
  EXPECT_EQ(values_of(root), values_of(of_rank(0, 5, kFloat64)));
  EXPECT_TRUE(gathered.device().is_cuda());
  EXPECT_EQ(values_of(gathered.select(0, world() - 1)), values_of(of_rank(world() - 1, 3, kFloat32)));
}

}  // namespace
}  // namespace redes
