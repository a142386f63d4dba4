#!/bin/bash
# issue 10 fixtures: PEFT LoRA reference (CE, KL, total and their gradients w.r.t. every lora_A / lora_B) for the
# tiny qwen2 and gemma2 reference models, plus PEFT-saved adapter files for steerlab's importer/exporter tests.
# Run from the repo root: bash gpujobs/issue10/run.sh "$OUT/issue10"
OUTDIR="${1:?usage: run.sh OUTDIR}"
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
mkdir -p "$OUTDIR"
WORK="$(mktemp -d)"
{
  echo "start $(date -u)"
  python3 -c 'import torch, transformers, peft; print("torch", torch.__version__, "transformers", transformers.__version__, "peft", peft.__version__)'
  CUDA_VISIBLE_DEVICES="" timeout 600 python3 "$HERE/make_lora_reference.py" "$HERE" "$WORK/issue10"
  echo "python exit $?"
  ls -lR "$WORK/issue10"
  echo "end $(date -u)"
} > "$OUTDIR/log.txt" 2>&1
tar -czf "$OUTDIR/result.tar.gz" -C "$WORK" issue10 >> "$OUTDIR/log.txt" 2>&1
rm -rf "$WORK"
exit 0
