// The layers, initialisers and losses of redes::nn in one include.
#pragma once

#include "layers/activations.h"
#include "layers/conv.h"
#include "layers/dropout.h"
#include "layers/gru.h"
#include "layers/init.h"
#include "layers/linear.h"
#include "layers/losses.h"
#include "layers/lstm.h"
#include "layers/models.h"
#include "layers/module.h"
#include "layers/normalization.h"
#include "layers/packed_sequence.h"
#include "layers/recurrent_base.h"
#include "layers/rnn.h"
#include "layers/sequential.h"
