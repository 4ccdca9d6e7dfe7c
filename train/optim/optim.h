// The optimizers of redes::optim in one include.
#pragma once

#include "train/optim/adam.h"
#include "train/optim/clip.h"
#include "train/optim/grad_scaler.h"
#include "train/optim/optimizer.h"
#include "train/optim/schedule.h"
#include "train/optim/sgd.h"
