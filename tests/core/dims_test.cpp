// Dims (core/dims.h), the inline small vector behind Shape and Strides,
// against std::vector on the same operations, across the inline/heap border.
#include <gtest/gtest.h>

#include <numeric>
#include <stdexcept>
#include <utility>
#include <vector>

#include <redes.h>

namespace redes {
namespace {

std::vector<std::int64_t> as_vector(const Dims& d) { return {d.begin(), d.end()}; }

TEST(Dims, BuildsLikeAVector) {
  EXPECT_TRUE(Dims().empty());
  EXPECT_EQ(as_vector(Dims{2, 3, 4}), (std::vector<std::int64_t>{2, 3, 4}));
  EXPECT_EQ(as_vector(Dims(3, 7)), (std::vector<std::int64_t>{7, 7, 7}));
  const std::vector<std::int64_t> nine(9, 1);
  const Dims from_vector = nine;  // beyond the inline dims
  EXPECT_EQ(from_vector.size(), 9u);
  EXPECT_GT(from_vector.capacity(), Dims::kInlineDims);
  const std::vector<std::int64_t> back = from_vector;
  EXPECT_EQ(back, nine);
  EXPECT_TRUE(from_vector == nine);
}

// The same random edits on a Dims and a std::vector, through growth past the
// inline dims and shrinking back.
TEST(Dims, EditsMatchAVectorAcrossTheInlineBorder) {
  Dims d;
  std::vector<std::int64_t> v;
  std::uint64_t state = 12345;
  const auto next = [&] {
    state = state * 6364136223846793005ULL + 1442695040888963407ULL;
    return static_cast<std::int64_t>(state >> 33);
  };
  for (int step = 0; step < 2000; ++step) {
    const std::int64_t value = next() % 100;
    const std::size_t at = v.empty() ? 0 : static_cast<std::size_t>(next()) % (v.size() + 1);
    switch (next() % 7) {
      case 0:
      case 1:
        d.push_back(value);
        v.push_back(value);
        break;
      case 2:
        d.insert(d.begin() + static_cast<std::ptrdiff_t>(at), value);
        v.insert(v.begin() + static_cast<std::ptrdiff_t>(at), value);
        break;
      case 3: {
        const std::vector<std::int64_t> three{value, value + 1, value + 2};
        d.insert(d.begin() + static_cast<std::ptrdiff_t>(at), three.begin(), three.end());
        v.insert(v.begin() + static_cast<std::ptrdiff_t>(at), three.begin(), three.end());
        break;
      }
      case 4:
        if (!v.empty() && at < v.size()) {
          d.erase(d.begin() + static_cast<std::ptrdiff_t>(at));
          v.erase(v.begin() + static_cast<std::ptrdiff_t>(at));
        }
        break;
      case 5:
        if (v.size() > 12) {
          d.resize(v.size() / 3);
          v.resize(v.size() / 3);
        }
        break;
      default:
        if (!v.empty()) {
          d.pop_back();
          v.pop_back();
        }
    }
    ASSERT_EQ(as_vector(d), v) << "after step " << step;
  }
}

TEST(Dims, CopiesAndMovesKeepTheirValues) {
  for (std::size_t n : {std::size_t{3}, std::size_t{6}, std::size_t{7}, std::size_t{20}}) {
    SCOPED_TRACE(n);
    std::vector<std::int64_t> values(n);
    std::iota(values.begin(), values.end(), 1);
    Dims original = values;
    Dims copy = original;
    EXPECT_EQ(copy, original);
    copy[0] = -1;
    EXPECT_EQ(original[0], 1) << "a copy shares nothing";
    Dims moved = std::move(copy);
    EXPECT_EQ(moved[0], -1);
    EXPECT_EQ(as_vector(moved).size(), n);
    Dims assigned{9};
    assigned = std::move(moved);
    EXPECT_EQ(assigned.size(), n);
    assigned = original;
    EXPECT_EQ(assigned, original);
    assigned = assigned;  // self-assignment keeps the values
    EXPECT_EQ(assigned, original);
  }
}

TEST(Dims, ComparesAndChecksItsBounds) {
  EXPECT_EQ((Dims{1, 2}), (Dims{1, 2}));
  EXPECT_NE((Dims{1, 2}), (Dims{1, 2, 3}));
  EXPECT_LT((Dims{1, 2}), (Dims{1, 3}));
  EXPECT_LT((Dims{1, 2}), (Dims{1, 2, 0}));
  const Dims d{4, 5};
  EXPECT_EQ(d.at(1), 5);
  EXPECT_THROW(static_cast<void>(d.at(2)), std::out_of_range);
  EXPECT_EQ(d.front(), 4);
  EXPECT_EQ(d.back(), 5);
  EXPECT_EQ(*d.rbegin(), 5);
}

TEST(Dims, TensorsOfManyDimsKeepTheirShape) {
  const Shape shape{1, 2, 1, 3, 1, 2, 1, 2};  // 8 dims: on the heap
  const Tensor t = arange(24, {kFloat64}).reshape(shape);
  EXPECT_EQ(t.shape(), shape);
  EXPECT_EQ(t.strides().size(), 8u);
  EXPECT_EQ(t.permute({7, 6, 5, 4, 3, 2, 1, 0}).contiguous().sum().item(), 276.0);
}

}  // namespace
}  // namespace redes
