"""Corrupt 10 % of SMILE's label sets (seeded): a single label gains a random second one, a
label set loses one of its labels. Writes the file in SMILE's own layout and the changed
1-based rows beside it: python bench/flip_label_sets.py SMILE.csv OUT.csv SEED"""

import json
import sys
from pathlib import Path

import numpy as np
import pandas as pd

src, out, seed = sys.argv[1], sys.argv[2], int(sys.argv[3])
frame = pd.read_csv(src, header=None, names=["id", "text", "category"], dtype=str)
frame = frame.fillna("")
usable = frame.index[(frame.category != "nocode") & (frame.text.str.strip() != "")]
classes = sorted({c for s in frame.loc[usable, "category"] for c in s.split("|")})
rng = np.random.default_rng(seed)
changed = rng.choice(usable, int(round(0.1 * len(usable))), replace=False)
for i in changed:
    labels = frame.at[i, "category"].split("|")
    if len(labels) > 1:
        labels.pop(int(rng.integers(len(labels))))
    else:
        others = [c for c in classes if c not in labels]
        labels.append(others[int(rng.integers(len(others)))])
    frame.at[i, "category"] = "|".join(labels)
frame.to_csv(out, header=False, index=False)
Path(out + ".flipped.json").write_text(json.dumps(sorted(int(i) + 1 for i in changed)))
print(len(usable), "usable rows,", len(changed), "label sets changed")
