// The public API of redes in one include.
#pragma once

#include "core/allocator.h"
#include "core/autograd.h"
#include "core/build_info.h"
#include "core/cuda.h"
#include "core/device.h"
#include "core/dtype.h"
#include "core/error.h"
#include "core/ops.h"
#include "core/random.h"
#include "core/shape.h"
#include "core/tensor.h"
