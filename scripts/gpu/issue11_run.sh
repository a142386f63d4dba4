#!/bin/bash
# issue 11 fixtures: AdamW + linear warm-up vs torch/transformers, and the Gemma mlp.down_proj hook reference.
# Run from the repo root: bash gpujobs/issue11/run.sh "$OUT/issue11"
OUTDIR="${1:?usage: run.sh OUTDIR}"
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
mkdir -p "$OUTDIR"
WORK="$(mktemp -d)"
{
  echo "start $(date -u)"; python3 -c 'import torch, transformers; print("torch", torch.__version__, "transformers", transformers.__version__)'
  python3 "$HERE/issue11_fixtures.py" "$HERE" "$WORK/issue11"
  echo "python exit $?"
  ls -lR "$WORK/issue11"
  echo "end $(date -u)"
} > "$OUTDIR/log.txt" 2>&1
tar -czf "$OUTDIR/result.tar.gz" -C "$WORK" issue11 >> "$OUTDIR/log.txt" 2>&1
rm -rf "$WORK"
exit 0
