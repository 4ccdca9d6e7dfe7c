#include "layers/packed_sequence.h"

#include <algorithm>
#include <numeric>
#include <string>

#include "core/ops.h"
#include "layers/sequence_lengths.h"

namespace redes::nn {

namespace {

using Index = std::vector<std::int64_t>;

std::size_t at(std::int64_t i) { return static_cast<std::size_t>(i); }

// The shape of x from dim `from` on (the feature shape *).
Shape trailing(const Tensor& x, std::int64_t from) {
  return Shape(x.shape().begin() + from, x.shape().end());
}

Shape joined(std::initializer_list<std::int64_t> leading, const Shape& rest) {
  Shape shape(leading);
  shape.insert(shape.end(), rest.begin(), rest.end());
  return shape;
}

// The structure of a PackedSequence on the host, checked.
struct Layout {
  Index batch_sizes;     // per step
  Index offsets;         // the first row of each step in data
  Index sorted_lengths;  // per sorted position
  Index sorted;          // sorted position -> batch index
  Index unsorted;        // batch index -> sorted position

  std::int64_t batch() const { return batch_sizes[0]; }
  std::int64_t steps() const { return static_cast<std::int64_t>(batch_sizes.size()); }
};

Index host_indices(const Tensor& indices, const char* name, std::int64_t batch, const Tensor& data,
                   const std::string& who) {
  REDES_CHECK(indices.dtype() == kInt64 && indices.dim() == 1 && indices.size(0) == batch, who, ": expected ", name,
              " of int64 and shape ", shape_str({batch}), " (one per sequence), got ", dtype_name(indices.dtype()), " of shape ",
              shape_str(indices.shape()));
  REDES_CHECK(indices.device() == data.device(), who, ": expected ", name, " on ", data.device().str(),
              " (as the data), got ", indices.device().str());
  return indices.to_vector<std::int64_t>();
}

Layout layout_of(const PackedSequence& sequence, const std::string& who) {
  const Tensor& data = sequence.data;
  const Tensor& sizes = sequence.batch_sizes;
  REDES_CHECK(data.defined() && data.dim() >= 1, who, ": expected packed data of shape (sum(lengths), *), got ",
              data.defined() ? shape_str(data.shape()) : std::string("(undefined)"));
  REDES_CHECK(sizes.defined() && sizes.dtype() == kInt64 && sizes.device().is_cpu() && sizes.dim() == 1 &&
                  sizes.numel() > 0,
              who, ": expected batch_sizes as a non-empty 1-D int64 tensor on the CPU, got ",
              sizes.defined() ? std::string(dtype_name(sizes.dtype())) + " of shape " + shape_str(sizes.shape()) + " on " +
                                    sizes.device().str()
                              : std::string("(undefined)"));
  Layout layout;
  layout.batch_sizes = sizes.to_vector<std::int64_t>();
  std::int64_t rows = 0;
  for (std::size_t t = 0; t < layout.batch_sizes.size(); ++t) {
    const std::int64_t size = layout.batch_sizes[t];
    REDES_CHECK(size >= 1 && (t == 0 || size <= layout.batch_sizes[t - 1]), who,
                ": expected batch_sizes positive and non-increasing, got batch_sizes[", t, "] = ", size,
                t == 0 ? std::string() : " after " + std::to_string(layout.batch_sizes[t - 1]));
    layout.offsets.push_back(rows);
    rows += size;
  }
  REDES_CHECK(data.size(0) == rows, who, ": the packed data has ", data.size(0),
              " rows but batch_sizes add up to ", rows);
  const std::int64_t batch = layout.batch();
  layout.sorted_lengths.assign(at(batch), 0);
  for (std::int64_t size : layout.batch_sizes) {
    for (std::int64_t b = 0; b < size; ++b) ++layout.sorted_lengths[at(b)];
  }
  REDES_CHECK(sequence.sorted_indices.defined() == sequence.unsorted_indices.defined(), who,
              ": expected sorted_indices and unsorted_indices both defined or both undefined");
  if (!sequence.sorted_indices.defined()) {
    layout.sorted.resize(at(batch));
    std::iota(layout.sorted.begin(), layout.sorted.end(), 0);
    layout.unsorted = layout.sorted;
    return layout;
  }
  layout.sorted = host_indices(sequence.sorted_indices, "sorted_indices", batch, data, who);
  layout.unsorted = host_indices(sequence.unsorted_indices, "unsorted_indices", batch, data, who);
  for (std::int64_t n = 0; n < batch; ++n) {
    const std::int64_t b = layout.unsorted[at(n)];
    REDES_CHECK(b >= 0 && b < batch && layout.sorted[at(b)] == n, who,
                ": unsorted_indices is not the inverse permutation of sorted_indices (at batch index ", n, ")");
  }
  return layout;
}

PackedSequence pack_padded(const Tensor& input, const std::vector<std::int64_t>& lengths, bool batch_first,
                           bool enforce_sorted, const char* who) {
  REDES_CHECK(input.defined() && input.dim() >= 2, who, ": expected a padded input of shape ",
              batch_first ? "(N, T, *)" : "(T, N, *)", ", got ",
              input.defined() ? shape_str(input.shape()) : std::string("(undefined)"));
  const std::int64_t steps = input.size(batch_first ? 1 : 0), batch = input.size(batch_first ? 0 : 1);
  REDES_CHECK(batch > 0, who, ": the batch is empty (input of shape ", shape_str(input.shape()), ")");
  REDES_CHECK(static_cast<std::int64_t>(lengths.size()) == batch, who, ": expected ", batch,
              " lengths (one per sequence of the batch), got ", lengths.size());
  for (std::size_t n = 0; n < lengths.size(); ++n) {
    REDES_CHECK(lengths[n] >= 1 && lengths[n] <= steps, who, ": expected every length in [1, ", steps,
                "] (the padded input has ", steps, " steps), got lengths[", n, "] = ", lengths[n]);
  }
  Index sorted(at(batch));
  std::iota(sorted.begin(), sorted.end(), 0);
  PackedSequence packed;
  if (enforce_sorted) {
    for (std::size_t n = 1; n < lengths.size(); ++n) {
      REDES_CHECK(lengths[n] <= lengths[n - 1], who,
                  ": with enforce_sorted = true the lengths must be in decreasing order, got lengths[", n - 1,
                  "] = ", lengths[n - 1], " < lengths[", n, "] = ", lengths[n],
                  "; pass enforce_sorted = false to have the batch sorted");
    }
  } else {
    std::stable_sort(sorted.begin(), sorted.end(),
                     [&lengths](std::int64_t a, std::int64_t b) { return lengths[at(a)] > lengths[at(b)]; });
    Index unsorted(at(batch));
    for (std::int64_t b = 0; b < batch; ++b) unsorted[at(sorted[at(b)])] = b;
    packed.sorted_indices = from_vector(sorted, {batch}, {kInt64, input.device()});
    packed.unsorted_indices = from_vector(unsorted, {batch}, {kInt64, input.device()});
  }
  // Step t of the sorted position b reads row t * N + n of the input viewed
  // as (T * N, *), or n * T + t when batch first.
  const std::int64_t longest = lengths[at(sorted[0])];
  Index batch_sizes, rows;
  for (std::int64_t t = 0; t < longest; ++t) {
    std::int64_t size = 0;
    for (std::int64_t b = 0; b < batch && lengths[at(sorted[at(b)])] > t; ++b, ++size) {
      const std::int64_t n = sorted[at(b)];
      rows.push_back(batch_first ? n * steps + t : t * batch + n);
    }
    batch_sizes.push_back(size);
  }
  packed.batch_sizes = from_vector(batch_sizes, {longest}, {kInt64, Device::cpu()});
  const std::int64_t count = static_cast<std::int64_t>(rows.size());
  packed.data = index_select(input.flatten(0, 1), 0, from_vector(rows, {count}, {kInt64, input.device()}));
  return packed;
}

PaddedSequence pad_packed(const PackedSequence& sequence, bool batch_first, double padding_value,
                          std::optional<std::int64_t> total_length, const std::string& who) {
  const Layout layout = layout_of(sequence, who);
  const std::int64_t batch = layout.batch(), longest = layout.steps();
  REDES_CHECK(!total_length || *total_length >= longest, who, ": total_length = ", total_length.value_or(0),
              " is shorter than the longest sequence (", longest, " steps)");
  const std::int64_t steps = total_length.value_or(longest);
  const Tensor& data = sequence.data;
  const std::int64_t padding_row = data.size(0);
  bool padded_anywhere = false;
  Index rows(at(steps * batch));
  for (std::int64_t n = 0; n < batch; ++n) {
    const std::int64_t b = layout.unsorted[at(n)];
    for (std::int64_t t = 0; t < steps; ++t) {
      const bool valid = t < layout.sorted_lengths[at(b)];
      padded_anywhere = padded_anywhere || !valid;
      rows[at(batch_first ? n * steps + t : t * batch + n)] = valid ? layout.offsets[at(t)] + b : padding_row;
    }
  }
  const Shape features = trailing(data, 1);
  // One padding row after the data, which every padded position reads.
  const Tensor source =
      padded_anywhere ? cat({data, full(joined({1}, features), padding_value, {data.dtype(), data.device()})}, 0)
                      : data;
  const Tensor flat = index_select(source, 0, from_vector(rows, {steps * batch}, {kInt64, data.device()}));
  PaddedSequence result{flat.reshape(batch_first ? joined({batch, steps}, features) : joined({steps, batch}, features)),
                        Index(at(batch))};
  for (std::int64_t n = 0; n < batch; ++n) result.lengths[at(n)] = layout.sorted_lengths[at(layout.unsorted[at(n)])];
  return result;
}

// Checks the sequences for pad_sequence and pack_sequence.
void check_sequences(const std::vector<Tensor>& sequences, const char* who) {
  REDES_CHECK(!sequences.empty(), who, ": expected at least one sequence, got none");
  for (std::size_t i = 0; i < sequences.size(); ++i) {
    const Tensor& s = sequences[i];
    REDES_CHECK(s.defined() && s.dim() >= 1, who, ": expected every sequence of shape (L, *), got sequences[", i,
                "] ", s.defined() ? "of shape " + shape_str(s.shape()) : std::string("undefined"));
    const Tensor& first = sequences[0];
    REDES_CHECK(trailing(s, 1) == trailing(first, 1), who, ": sequences[", i, "] has shape ", shape_str(s.shape()),
                " but sequences[0] has ", shape_str(first.shape()), "; all must share the shape after the first dim");
    REDES_CHECK(s.dtype() == first.dtype() && s.device() == first.device(), who, ": sequences[", i, "] is ",
                dtype_name(s.dtype()), " on ", s.device().str(), " but sequences[0] is ", dtype_name(first.dtype()),
                " on ", first.device().str());
  }
}

Tensor pad_checked(const std::vector<Tensor>& sequences, bool batch_first, double padding_value) {
  std::int64_t longest = 0;
  for (const Tensor& s : sequences) longest = std::max(longest, s.size(0));
  const Shape features = trailing(sequences[0], 1);
  std::vector<Tensor> padded;
  padded.reserve(sequences.size());
  for (const Tensor& s : sequences) {
    const std::int64_t missing = longest - s.size(0);
    padded.push_back(missing == 0 ? s
                                  : cat({s, full(joined({missing}, features), padding_value, {s.dtype(), s.device()})},
                                        0));
  }
  return stack(padded, batch_first ? 0 : 1);
}

}  // namespace

PackedSequence PackedSequence::to(Device device) const {
  return {data.to(device), batch_sizes, sorted_indices.defined() ? sorted_indices.to(device) : Tensor(),
          unsorted_indices.defined() ? unsorted_indices.to(device) : Tensor()};
}

PackedSequence pack_padded_sequence(const Tensor& input, const std::vector<std::int64_t>& lengths, bool batch_first,
                                    bool enforce_sorted) {
  return pack_padded(input, lengths, batch_first, enforce_sorted, "pack_padded_sequence");
}

PaddedSequence pad_packed_sequence(const PackedSequence& sequence, bool batch_first, double padding_value,
                                   std::optional<std::int64_t> total_length) {
  return pad_packed(sequence, batch_first, padding_value, total_length, "pad_packed_sequence");
}

Tensor pad_sequence(const std::vector<Tensor>& sequences, bool batch_first, double padding_value) {
  check_sequences(sequences, "pad_sequence");
  return pad_checked(sequences, batch_first, padding_value);
}

PackedSequence pack_sequence(const std::vector<Tensor>& sequences, bool enforce_sorted) {
  check_sequences(sequences, "pack_sequence");
  std::vector<std::int64_t> lengths;
  for (std::size_t i = 0; i < sequences.size(); ++i) {
    lengths.push_back(sequences[i].size(0));
    REDES_CHECK(lengths.back() >= 1, "pack_sequence: sequences[", i,
                "] is empty; every sequence needs at least one step");
  }
  return pack_padded(pad_checked(sequences, false, 0.0), lengths, false, enforce_sorted, "pack_sequence");
}

namespace detail {

PaddedSequence unpack(const PackedSequence& sequence, bool batch_first, const std::string& layer) {
  return pad_packed(sequence, batch_first, 0.0, std::nullopt, layer);
}

PackedSequence pack_like(const Tensor& padded, const PackedSequence& like, bool batch_first) {
  const Layout layout = layout_of(like, "pack_like");
  const std::int64_t batch = layout.batch();
  const std::int64_t steps = padded.size(batch_first ? 1 : 0);
  Index rows;
  for (std::int64_t t = 0; t < layout.steps(); ++t) {
    for (std::int64_t b = 0; b < layout.batch_sizes[at(t)]; ++b) {
      const std::int64_t n = layout.sorted[at(b)];
      rows.push_back(batch_first ? n * steps + t : t * batch + n);
    }
  }
  const std::int64_t count = static_cast<std::int64_t>(rows.size());
  return {index_select(padded.flatten(0, 1), 0, from_vector(rows, {count}, {kInt64, padded.device()})),
          like.batch_sizes, like.sorted_indices, like.unsorted_indices};
}

}  // namespace detail

}  // namespace redes::nn
