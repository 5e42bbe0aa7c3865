"""Flip 10 % of SMILE's usable labels (seeded); write the file in SMILE's own layout and the
flipped 1-based rows beside it: python bench/flip_labels.py SMILE.csv OUT.csv SEED"""

import json
import sys
from pathlib import Path

import numpy as np
import pandas as pd

src, out, seed = sys.argv[1], sys.argv[2], int(sys.argv[3])
names = ["id", "text", "category"]
frame = pd.read_csv(src, header=None, names=names, dtype=str, keep_default_na=False)
usable = frame.index[
    (frame.category != "nocode")
    & ~frame.category.str.contains("|", regex=False)
    & (frame.text.str.strip() != "")
]
classes = sorted(frame.loc[usable, "category"].unique())
rng = np.random.default_rng(seed)
flip = rng.choice(usable, int(round(0.1 * len(usable))), replace=False)
for i in flip:
    others = [c for c in classes if c != frame.at[i, "category"]]
    frame.at[i, "category"] = others[rng.integers(len(others))]
frame.to_csv(out, header=False, index=False)
Path(out + ".flipped.json").write_text(json.dumps(sorted(int(i) + 1 for i in flip)))
print(len(usable), "usable rows,", len(flip), "flipped")
