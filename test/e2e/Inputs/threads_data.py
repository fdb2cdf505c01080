"""Writes x.npy [13, 9, 48] and y.npy [13, 9, 8] (standard normals, seed 0) into the
directory given, for threads.test."""
import os
import sys

import numpy as np

rng = np.random.default_rng(0)
out = sys.argv[1]
np.save(os.path.join(out, "x.npy"), rng.standard_normal((13, 9, 48)).astype(np.float32))
np.save(os.path.join(out, "y.npy"), rng.standard_normal((13, 9, 8)).astype(np.float32))
