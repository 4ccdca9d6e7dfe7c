// Bad input gets a redes::Error that names the op, what was expected and what was given.
#include <gtest/gtest.h>

#include "support/test_support.h"

namespace redes {
namespace {

using testing::expect_error;

TEST(Errors, ShapeMismatch) {
  expect_error([] { add(ones({2, 3}), ones({4})); }, {"add", "(2, 3)", "(4,)", "broadcast"});
  expect_error([] { matmul(ones({2, 3}), ones({4, 5})); }, {"matmul", "inner dimensions", "(2, 3)", "(4, 5)"});
  expect_error([] { matmul(ones({}), ones({2, 2})); }, {"matmul", "at least 1 dim", "()"});
  expect_error([] { ones({2, 3}).view({4, 2}); }, {"view", "(4, 2)", "6"});
}

TEST(Errors, DtypeMismatch) {
  expect_error([] { matmul(ones({2, 2}), ones({2, 2}, {kFloat64})); }, {"matmul", "float32", "float64"});
  expect_error([] { matmul(ones({2, 2}, {kInt64}), ones({2, 2}, {kInt64})); }, {"matmul", "floating", "int64"});
  expect_error([] { arange(4, {kInt64}).exp(); }, {"exp", "floating", "int64"});
  expect_error([] { mean(arange(4, {kInt64})); }, {"mean", "floating", "int64"});
  expect_error([] { ones({2}).data<double>(); }, {"float32", "float64"});
}

TEST(Errors, DeviceMismatch) {
  // Without a GPU, asking for one names it; mixing devices needs one.
  if (!cuda::is_available()) expect_error([] { ones({2}).to(Device::cuda(0)); }, {"cuda:0"});
  REDES_REQUIRE_DEVICE(Device::cuda(0));
  const Tensor a = ones({2});
  const Tensor b = ones({2}, {kFloat32, Device::cuda(0)});
  expect_error([&] { add(a, b); }, {"add", "same device", "cpu", "cuda:0"});
  expect_error([&] { matmul(a.reshape({1, 2}), b.reshape({2, 1})); }, {"matmul", "same device"});
}

TEST(Errors, BadIndices) {
  const Tensor x = ones({3, 4});
  expect_error([&] { x.select(0, 3); }, {"select", "index 3", "size 3"});
  expect_error([&] { x.narrow(1, 2, 3); }, {"narrow", "[2, 5)", "size 4"});
  expect_error([&] { x.sum({2}); }, {"sum", "dim 2", "out of range", "2 dims"});
  expect_error([&] { x.sum({0, 0}); }, {"sum", "more than once"});
  expect_error([&] { x.transpose(0, 5); }, {"transpose", "dim 5"});
  expect_error([&] { x.size(-3); }, {"size", "dim -3"});
}

TEST(Errors, TooManyDims) {
  expect_error([] { ones({1, 1, 1, 1, 1, 1, 1, 1, 2}); }, {"8 dims", "(1, 1, 1, 1, 1, 1, 1, 1, 2)"});
}

}  // namespace
}  // namespace redes
