// Packed variable-length batches, as torch.nn.utils.rnn: the same data
// layout, defaults and index tensors, so code ported from PyTorch reads and
// behaves alike. A PackedSequence keeps only the valid steps of a batch,
// time-major, with the batch ordered by decreasing length: for lengths
// [3, 2, 1] (sequences a, b, c) data holds a0 b0 c0 a1 b1 a2 and batch_sizes
// is [3, 2, 1], the number of sequences still running at each step.
//
//   // x (T=5, N=3, F=8), padded; the sequences have 2, 5 and 4 steps.
//   nn::PackedSequence packed = nn::pack_padded_sequence(x, {2, 5, 4}, false, /*enforce_sorted=*/false);
//   nn::LSTM lstm(8, 16);
//   const nn::LSTM::PackedResult r = lstm.forward_with_state(packed);
//   // r.h_n (1, 3, 16): each sequence's state after its own last step, in x's batch order.
//   const nn::PaddedSequence out = nn::pad_packed_sequence(r.output);
//   // out.padded (5, 3, 16) with zeros past each end; out.lengths {2, 5, 4}.
//
// Every function composes differentiable ops (index_select, cat, stack), so
// gradients flow through packing and unpacking, on any device.
#pragma once

#include <cstdint>
#include <optional>
#include <vector>

#include "core/export.h"
#include "core/tensor.h"

namespace redes::nn {

struct REDES_API PackedSequence {
  // (sum(lengths), *): the valid steps, step by step, each step's sequences
  // in decreasing order of length.
  Tensor data;
  // int64 on the CPU, one per step up to the longest sequence: how many
  // sequences have that step.
  Tensor batch_sizes;
  // int64 on data's device. sorted_indices[i] is the original batch index of
  // the i-th longest sequence, unsorted_indices its inverse. Both undefined
  // when the batch came sorted (enforce_sorted = true).
  Tensor sorted_indices;
  Tensor unsorted_indices;

  // data and the indices on `device`; batch_sizes stays on the CPU.
  PackedSequence to(Device device) const;
};

// A padded batch and the length of each of its sequences, in batch order.
struct PaddedSequence {
  Tensor padded;  // (T, N, *), or (N, T, *) when batch_first
  std::vector<std::int64_t> lengths;
};

// Packs a padded batch input (T, N, *), or (N, T, *) when batch_first, whose
// sequence n has lengths[n] steps (1 <= lengths[n] <= T). With
// enforce_sorted the lengths must not increase along the batch (the input is
// used as it is and the indices stay undefined); without, the batch is
// sorted by decreasing length (ties keep their order).
REDES_API PackedSequence pack_padded_sequence(const Tensor& input, const std::vector<std::int64_t>& lengths,
                                              bool batch_first = false, bool enforce_sorted = true);

// The inverse: the padded batch in the original order, (T, N, *) or
// (N, T, *), with padding_value past each sequence's end, and the lengths.
// T is total_length when given (at least the longest length), else the
// longest length.
REDES_API PaddedSequence pad_packed_sequence(const PackedSequence& sequence, bool batch_first = false,
                                             double padding_value = 0.0,
                                             std::optional<std::int64_t> total_length = std::nullopt);

// Sequences (L_i, *) of one dtype, device and trailing shape padded with
// padding_value to the longest: (max L_i, N, *), or (N, max L_i, *).
REDES_API Tensor pad_sequence(const std::vector<Tensor>& sequences, bool batch_first = false,
                              double padding_value = 0.0);

// Sequences (L_i, *), each with at least one step, packed as
// pack_padded_sequence(pad_sequence(sequences), {L_i}, false, enforce_sorted).
REDES_API PackedSequence pack_sequence(const std::vector<Tensor>& sequences, bool enforce_sorted = true);

}  // namespace redes::nn
