#!/usr/bin/env python3
"""The step of the CFS pipeline, allowed by path on a shell executor (run from the repo root):

    colonies executor start --type pipeline --allow examples/cfs_upper.py --fs-dir /tmp/pipeline-fs

The shell executor runs it in its mount root, where the process's `fs` mounts are: it upper-cases
every file of in/<processid>/ into out/<processid>/, which the executor then syncs back to CFS.
"""
import os
import sys
from pathlib import Path

pid = os.environ["COLONIES_PROCESS_ID"]
source, target = Path("in") / pid, Path("out") / pid
target.mkdir(parents=True, exist_ok=True)
for path in sorted(source.iterdir()):
    (target / path.name).write_text(path.read_text().upper())
    print(f"upper-cased {path.name}")
sys.exit(0 if any(source.iterdir()) else "no input files")
