// The kernel registry: backends register on first use, selection honours
// priority, support predicates and forcing, and a miss is a clear error.
#include <gtest/gtest.h>

#include <atomic>
#include <thread>
#include <vector>

#include "kernels/params.h"
#include "kernels/registry.h"
#include "support/heap_counter.h"
#include "support/test_support.h"

namespace redes {
namespace {

TEST(Registry, CpuBackendRegistersEveryCoreOp) {
  KernelRegistry& registry = KernelRegistry::instance();
  for (const char* op : {"fill", "copy", "unary", "binary", "sum", "matmul", "random"}) {
    EXPECT_FALSE(registry.candidates(op, DeviceType::CPU, kFloat32).empty()) << op;
    EXPECT_FALSE(registry.candidates(op, DeviceType::CPU, kFloat64).empty()) << op;
  }
}

TEST(Registry, CudaBackendRegistersWhenCompiled) {
  if (!build_info().cuda) GTEST_SKIP() << "this build has no CUDA backend";
  KernelRegistry& registry = KernelRegistry::instance();
  for (const char* op : {"fill", "copy", "unary", "binary", "sum", "matmul", "random"}) {
    EXPECT_FALSE(registry.candidates(op, DeviceType::CUDA, kFloat32).empty()) << op;
  }
}

TEST(Registry, MissingKernelNamesOpDeviceAndDtype) {
  TensorArg out;
  const FillParams params{};
  try {
    KernelRegistry::instance().select("no_such_op", Device::cpu(), kFloat32, &params, &out, 1);
    FAIL() << "expected redes::Error";
  } catch (const Error& error) {
    EXPECT_STREQ(error.what(), "no_such_op: no kernel for float32 tensors on cpu");
  }
}

TEST(Registry, ForcingSelectsByNameAndRejectsUnknownNames) {
  KernelRegistry& registry = KernelRegistry::instance();
  EXPECT_THROW(registry.force("matmul", "no-such-implementation"), Error);
  registry.force("matmul", "cpu.blas");
  const Tensor product = matmul(ones({2, 3}), ones({3, 2}));
  registry.force("matmul", "");
  EXPECT_TRUE(testing::all_close(product, std::vector<double>(4, 3.0), 0, 0));
}

// A private op registered by the test itself: priorities and support predicates.
int last_called = 0;
void first_impl(const FillParams&, const TensorArg*, int, const ExecContext&) { last_called = 1; }
void second_impl(const FillParams&, const TensorArg*, int, const ExecContext&) { last_called = 2; }
bool only_positive(const void* params, const TensorArg*, int) {
  return static_cast<const FillParams*>(params)->value > 0;
}

TEST(Registry, HighestPrioritySupportingEntryWins) {
  KernelRegistry& registry = KernelRegistry::instance();
  KernelEntry low = make_kernel<FillParams, &first_impl>(DeviceType::CPU, kFloat32, "low", 0);
  KernelEntry high = make_kernel<FillParams, &second_impl>(DeviceType::CPU, kFloat32, "high", 10, &only_positive);
  low.op = high.op = "registry_test_op";
  registry.add(low);
  registry.add(high);
  EXPECT_THROW(registry.add(low), Error);  // same name twice
  TensorArg arg;
  const ExecContext context{};
  FillParams positive{1.0}, negative{-1.0};
  registry.select("registry_test_op", Device::cpu(), kFloat32, &positive, &arg, 1).run(&positive, &arg, 1, context);
  EXPECT_EQ(last_called, 2);
  registry.select("registry_test_op", Device::cpu(), kFloat32, &negative, &arg, 1).run(&negative, &arg, 1, context);
  EXPECT_EQ(last_called, 1);
  registry.force("registry_test_op", "high");
  try {
    registry.select("registry_test_op", Device::cpu(), kFloat32, &negative, &arg, 1);
    ADD_FAILURE() << "expected redes::Error";
  } catch (const Error& error) {
    EXPECT_NE(std::string(error.what()).find("\"high\" forced"), std::string::npos) << error.what();
    EXPECT_NE(std::string(error.what()).find("refused these arguments: high"), std::string::npos) << error.what();
  }
  registry.force("registry_test_op", "");
}

}  // namespace
}  // namespace redes

namespace redes {
namespace {

void third_impl(const FillParams&, const TensorArg*, int, const ExecContext&) { last_called = 3; }

// Registers `op` with "low" (priority 0) and "high" (10, positive values only).
void register_two(const char* op) {
  KernelEntry low = make_kernel<FillParams, &first_impl>(DeviceType::CPU, kFloat32, "low", 0);
  KernelEntry high = make_kernel<FillParams, &second_impl>(DeviceType::CPU, kFloat32, "high", 10, &only_positive);
  low.op = high.op = op;
  KernelRegistry::instance().add(low);
  KernelRegistry::instance().add(high);
}

TEST(RegistryDispatch, SelectionAfterTheFirstCallAllocatesNothing) {
  KernelRegistry& registry = KernelRegistry::instance();
  static constexpr const char* op = "registry_dispatch_alloc_op";
  register_two(op);
  TensorArg arg;
  const FillParams positive{1.0}, negative{-1.0};
  registry.select(op, Device::cpu(), kFloat32, &positive, &arg, 1);  // resolves the candidates once
  const long before = testing::heap_allocations.load();
  for (int i = 0; i < 1000; ++i) {
    EXPECT_EQ(registry.select(op, Device::cpu(), kFloat32, &positive, &arg, 1).name, "high");
    EXPECT_EQ(registry.select(op, Device::cpu(), kFloat32, &negative, &arg, 1).name, "low");
  }
  EXPECT_EQ(testing::heap_allocations.load() - before, 0);
}

TEST(RegistryDispatch, ResolvedCandidatesFollowForcingAndLaterRegistrations) {
  KernelRegistry& registry = KernelRegistry::instance();
  static constexpr const char* op = "registry_dispatch_update_op";
  register_two(op);
  TensorArg arg;
  const FillParams positive{1.0};
  EXPECT_EQ(registry.select(op, Device::cpu(), kFloat32, &positive, &arg, 1).name, "high");
  registry.force(op, "low");
  EXPECT_EQ(registry.select(op, Device::cpu(), kFloat32, &positive, &arg, 1).name, "low");
  registry.force(op, "");
  EXPECT_EQ(registry.select(op, Device::cpu(), kFloat32, &positive, &arg, 1).name, "high");
  KernelEntry highest = make_kernel<FillParams, &third_impl>(DeviceType::CPU, kFloat32, "highest", 20);
  highest.op = op;
  registry.add(highest);
  EXPECT_EQ(registry.select(op, Device::cpu(), kFloat32, &positive, &arg, 1).name, "highest");
  // The same name from another buffer (a std::string's) finds the same candidates.
  const std::string copy = op;
  EXPECT_EQ(registry.select(copy, Device::cpu(), kFloat32, &positive, &arg, 1).name, "highest");
  EXPECT_THROW(registry.select(op, Device::cpu(), kFloat64, &positive, &arg, 1), Error);  // no float64 entry
  // has_candidates: whether any entry exists, whatever is forced, without allocating once resolved.
  EXPECT_TRUE(registry.has_candidates(op, DeviceType::CPU, kFloat32));
  EXPECT_FALSE(registry.has_candidates(op, DeviceType::CPU, kFloat64));
  EXPECT_FALSE(registry.has_candidates(op, DeviceType::CUDA, kFloat32));
  registry.force(op, "low");
  EXPECT_TRUE(registry.has_candidates(op, DeviceType::CPU, kFloat32));
  const long before = testing::heap_allocations.load();
  for (int i = 0; i < 100; ++i) EXPECT_TRUE(registry.has_candidates(op, DeviceType::CPU, kFloat32));
  EXPECT_EQ(testing::heap_allocations.load() - before, 0);
  registry.force(op, "");
}

TEST(RegistryDispatch, ThreadsSelectConcurrentlyWithoutTheLock) {
  KernelRegistry& registry = KernelRegistry::instance();
  static constexpr const char* op = "registry_dispatch_threads_op";
  register_two(op);
  std::atomic<int> wrong{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      TensorArg arg;
      const FillParams params{t % 2 == 0 ? 1.0 : -1.0};
      for (int i = 0; i < 20000; ++i) {
        const std::string& name = registry.select(op, Device::cpu(), kFloat32, &params, &arg, 1).name;
        if (name != (t % 2 == 0 ? "high" : "low")) wrong.fetch_add(1);
      }
    });
  }
  for (std::thread& thread : threads) thread.join();
  EXPECT_EQ(wrong.load(), 0);
}

}  // namespace
}  // namespace redes
