// The fused cross-entropy kernels against the composite they replaced
// (log_softmax then nll_loss), on every compiled device. The PyTorch fixture
// (tests/fixtures/losses.safetensors) is checked in fixtures_test.
#include <gtest/gtest.h>

#include <string>

#include "support/test_support.h"

namespace redes {
namespace {

using testing::all_close;

Tensor composite(const Tensor& logits, const Tensor& targets, nn::Reduction reduction) {
  return nn::nll_loss(log_softmax(logits, 1), targets, reduction);
}

class CrossEntropyDevices : public ::testing::TestWithParam<Device> {};

// Loss and logit gradient of `loss_fn` for a given upstream gradient, on the host.
struct Result {
  Tensor loss, grad;
};
template <class Fn>
Result run(Fn loss_fn, const Tensor& logits, const Tensor& targets, nn::Reduction reduction, const Tensor& upstream) {
  Tensor x = logits.detach().requires_grad_();
  const Tensor loss = loss_fn(x, targets, reduction);
  loss.backward(upstream.to(loss.device()));
  return {loss.to(Device::cpu()), x.grad().to(Device::cpu())};
}

TEST_P(CrossEntropyDevices, MatchesTheCompositeForEveryReductionAndLayout) {
  REDES_REQUIRE_DEVICE(GetParam());
  const std::vector<std::int64_t> labels{3, 0, 10, 7, 7, 1, 2, 9, 5, 4, 6, 8, 0, 10, 3, 2, 1};
  const auto rows = static_cast<std::int64_t>(labels.size());
  for (const DType dtype : {kFloat32, kFloat64}) {
    const double tolerance = dtype == kFloat32 ? 1e-6 : 1e-12;
    // Dense logits, and logits transposed from (C, N) with every other target of a longer vector.
    const Tensor dense = testing::random_tensor({rows, 11}, 5, {dtype}, -6, 6);
    const Tensor transposed = testing::random_tensor({11, rows}, 6, {dtype}, -6, 6).transpose(0, 1);
    std::vector<std::int64_t> spread;
    for (const std::int64_t t : labels) spread.insert(spread.end(), {t, -1});
    const Tensor dense_targets = from_vector(labels, {rows}, {kInt64});
    const Tensor strided_targets = from_vector(spread, {2 * rows}, {kInt64}).slice(0, 0, 2 * rows, 2);
    for (const auto& [logits, targets] : {std::pair{dense, dense_targets}, std::pair{transposed, strided_targets}}) {
      for (const nn::Reduction reduction : {nn::Reduction::Mean, nn::Reduction::Sum, nn::Reduction::None}) {
        SCOPED_TRACE(std::string(dtype_name(dtype)) + " reduction " + std::to_string(static_cast<int>(reduction)) +
                     (logits.is_contiguous() ? " dense" : " strided"));
        const Tensor upstream = reduction == nn::Reduction::None ? testing::random_tensor({rows}, 7, {dtype})
                                                                  : scalar_tensor(0.75, {dtype});
        const Result expected = run(composite, logits, targets, reduction, upstream);
        const Result fused = run(nn::cross_entropy, logits.to(GetParam()), targets.to(GetParam()), reduction, upstream);
        EXPECT_TRUE(all_close(fused.loss, expected.loss, tolerance, tolerance));
        EXPECT_TRUE(all_close(fused.grad, expected.grad, tolerance, tolerance));
      }
    }
  }
}

// More classes than a CUDA block has threads (each row's block strides over
// them), dense and transposed.
TEST_P(CrossEntropyDevices, ManyClassesMatchTheComposite) {
  REDES_REQUIRE_DEVICE(GetParam());
  const std::int64_t rows = 5, classes = 1000;
  const Tensor targets = from_vector(std::vector<std::int64_t>{999, 0, 500, 257, 31}, {rows}, {kInt64});
  for (const DType dtype : {kFloat32, kFloat64}) {
    SCOPED_TRACE(dtype_name(dtype));
    const double tolerance = dtype == kFloat32 ? 1e-5 : 1e-12;
    const Tensor dense = testing::random_tensor({rows, classes}, 8, {dtype}, -6, 6);
    const Tensor transposed = testing::random_tensor({classes, rows}, 9, {dtype}, -6, 6).t();
    for (const Tensor& logits : {dense, transposed}) {
      const Tensor upstream = testing::random_tensor({rows}, 10, {dtype});
      const Result expected = run(composite, logits, targets, nn::Reduction::None, upstream);
      const Result fused =
          run(nn::cross_entropy, logits.to(GetParam()), targets.to(GetParam()), nn::Reduction::None, upstream);
      EXPECT_TRUE(all_close(fused.loss, expected.loss, tolerance, tolerance));
      EXPECT_TRUE(all_close(fused.grad, expected.grad, tolerance, tolerance));
    }
  }
}

TEST_P(CrossEntropyDevices, LargeLogitsStayFinite) {
  REDES_REQUIRE_DEVICE(GetParam());
  const Tensor logits = from_vector(std::vector<float>{1e4f, -1e4f, 0, 3e4f, 3e4f, -5e3f}, {2, 3},
                                    {kFloat32, GetParam()});
  const Tensor targets = from_vector(std::vector<std::int64_t>{1, 0}, {2}, {kInt64, GetParam()});
  EXPECT_TRUE(all_close(nn::cross_entropy(logits, targets, nn::Reduction::None), {2e4, 0.69314718}, 1e-3, 1e-6));
}

TEST_P(CrossEntropyDevices, BadTargetsNameTheSampleAndTheRange) {
  REDES_REQUIRE_DEVICE(GetParam());
  const Tensor logits = testing::random_tensor({4, 3}, 8, {kFloat32, GetParam()});
  for (const std::int64_t bad : {-1, 3, 1000}) {
    const Tensor targets = from_vector(std::vector<std::int64_t>{0, 2, bad, bad}, {4}, {kInt64, GetParam()});
    try {
      (void)nn::cross_entropy(logits, targets);
      ADD_FAILURE() << "target " << bad << " was accepted";
    } catch (const Error& e) {
      EXPECT_NE(std::string(e.what()).find("target " + std::to_string(bad) + " of sample 2 is out of range; "
                                           "expected a class index in [0, 3)"),
                std::string::npos)
          << e.what();
    }
  }
  // The device stays usable after the refusal.
  const Tensor good = from_vector(std::vector<std::int64_t>{0, 2, 1, 1}, {4}, {kInt64, GetParam()});
  EXPECT_TRUE(all_close(nn::cross_entropy(logits, good), composite(logits, good, nn::Reduction::Mean), 1e-6, 1e-6));
  EXPECT_THROW(nn::cross_entropy(logits.to(kInt64), good), Error);
}

TEST_P(CrossEntropyDevices, Gradcheck) {
  REDES_REQUIRE_DEVICE(GetParam());
  const Tensor logits = testing::random_tensor({5, 4}, 9, {kFloat64, GetParam()}, -3, 3);
  const Tensor targets = from_vector(std::vector<std::int64_t>{3, 0, 1, 3, 2}, {5}, {kInt64, GetParam()});
  for (const nn::Reduction reduction : {nn::Reduction::Mean, nn::Reduction::Sum, nn::Reduction::None}) {
    EXPECT_TRUE(testing::gradcheck(
        [&](const std::vector<Tensor>& in) { return nn::cross_entropy(in[0], targets, reduction); }, {logits}));
  }
}

REDES_INSTANTIATE_FOR_DEVICES(CrossEntropyDevices);

}  // namespace
}  // namespace redes
