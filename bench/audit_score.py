"""Precision / recall of the flipped rows among the rows an audit flagged, and of the lowest
label-quality rows: python bench/audit_score.py AUDIT.csv FLIPPED.json [UNMODIFIED_AUDIT.csv]"""

import json
import sys
from pathlib import Path

import pandas as pd

table = pd.read_csv(sys.argv[1])
flipped = set(json.loads(Path(sys.argv[2]).read_text()))
flag = set(table.loc[table.label_issue, "row"])
tp = len(flag & flipped)
print(f"flagged {len(flag)}, flipped {len(flipped)}, true positives {tp}: ", end="")
print(f"precision {tp / len(flag):.3f}, recall {tp / len(flipped):.3f}")
ranked = table.sort_values("label_quality")
for k in (len(flipped) // 2, len(flipped)):
    hit = len(set(ranked.row.head(k)) & flipped)
    print(f"  lowest-quality {k}: precision {hit / k:.3f}, recall {hit / len(flipped):.3f}")
if len(sys.argv) > 3:  # rows already flagged on the unmodified file: pre-existing suspects
    before = set(pd.read_csv(sys.argv[3]).query("label_issue").row)
    rest = flag - before
    precision = len(rest & flipped) / max(len(rest), 1)
    print(
        f"  excluding the {len(flag & before)} rows also flagged on the unmodified file: ", end=""
    )
    print(f"precision {precision:.3f} of {len(rest)}")
