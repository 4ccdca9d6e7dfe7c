// Helpers every test uses: the devices to run on, closeness checks that print
// the first mismatches, random inputs and a finite-difference gradient check.
#pragma once

#include <gtest/gtest.h>

#include <functional>
#include <ostream>
#include <optional>
#include <string>
#include <vector>

#include <redes.h>

namespace redes {
// How GoogleTest prints a Device parameter.
inline void PrintTo(const Device& device, std::ostream* out) { *out << device.str(); }
}  // namespace redes

namespace redes::testing {

// cpu, plus cuda:0 when this build has the CUDA backend.
std::vector<Device> compiled_devices();
// Why `device` cannot run here (no GPU, no driver), or nothing when it can.
std::optional<std::string> unusable_reason(Device device);
// REDES_REQUIRE_CUDA=1: a CUDA test that cannot run fails instead of skipping.
bool cuda_required();
std::string device_test_name(const ::testing::TestParamInfo<Device>& info);

// The parameters of the 16-bit suites: every compiled device with bfloat16
// and with float16, named like "cuda0_bfloat16".
struct LowPrecisionCase {
  Device device;
  DType dtype;
};
std::vector<LowPrecisionCase> low_precision_cases();
std::string low_precision_case_name(const ::testing::TestParamInfo<LowPrecisionCase>& info);

// tests/fixtures/<name>, or <$REDES_FIXTURE_DIR>/<name> when that variable is
// set (a copy of the tests that runs away from the source tree).
std::string fixture_path(const std::string& name);

// Expects `action` to throw a redes::Error whose message contains every
// fragment (the parts a user needs to act on).
void expect_error(const std::function<void()>& action, const std::vector<std::string>& fragments);
// (const char*, not std::string: a braced pair of literals must not read as
// std::string's iterator-pair constructor.)
void expect_error(const std::function<void()>& action, const char* fragment);

// Values of any tensor, as float64 on the host, in row-major order.
std::vector<double> host_values(const Tensor& tensor);

// |actual - expected| <= atol + rtol * |expected| element by element; on
// failure, names the first mismatching indices.
::testing::AssertionResult all_close(const std::vector<double>& actual, const std::vector<double>& expected,
                                     double atol, double rtol);
::testing::AssertionResult all_close(const Tensor& actual, const std::vector<double>& expected, double atol,
                                     double rtol);
::testing::AssertionResult all_close(const Tensor& actual, const Tensor& expected, double atol, double rtol);

// Uniform random values in [low, high) from a fixed seed.
Tensor random_tensor(const Shape& shape, std::uint64_t seed, const TensorOptions& options = {},
                     double low = -1.0, double high = 1.0);

// Compares autograd gradients of sum(f(inputs) * w), for a fixed random w,
// with central differences, in float64. `inputs` are float64 tensors on any
// device; they are made leaves that require grad.
::testing::AssertionResult gradcheck(const std::function<Tensor(const std::vector<Tensor>&)>& f,
                                     const std::vector<Tensor>& inputs, double eps = 1e-6, double atol = 1e-6,
                                     double rtol = 1e-5);

}  // namespace redes::testing

// Skips (or, with REDES_REQUIRE_CUDA=1, fails) a test whose device cannot run here.
#define REDES_REQUIRE_DEVICE(device)                                              \
  do {                                                                            \
    if (auto redes_why = ::redes::testing::unusable_reason(device)) {             \
      if (::redes::testing::cuda_required()) FAIL() << *redes_why;                \
      GTEST_SKIP() << *redes_why;                                                 \
    }                                                                             \
  } while (false)

// Instantiates a TEST_P suite over Device parameters for every compiled device.
#define REDES_INSTANTIATE_FOR_DEVICES(suite)                                                        \
  INSTANTIATE_TEST_SUITE_P(Devices, suite, ::testing::ValuesIn(::redes::testing::compiled_devices()), \
                           ::redes::testing::device_test_name)
