// Data for training: readers of the reference data sets, random-access
// datasets, the DataLoader and the image augmentations.
#pragma once

#include "train/data/augment.h"
#include "train/data/cars.h"
#include "train/data/cifar.h"
#include "train/data/data_loader.h"
#include "train/data/dataset.h"
#include "train/data/idx.h"
#include "train/data/time_series.h"
