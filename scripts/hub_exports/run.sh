#!/bin/bash
# issue 9 fixtures: tiny models in the layouts of the exporters the Hub uses (Optimum with-past + transformers.js
# quantize modes, the Gemma build layout, onnxruntime-genai builder, external data in chunks), with onnxruntime's logits.
# Run from the repo root: bash gpujobs/issue9/run.sh "$OUT/issue9"
OUTDIR="${1:?usage: run.sh OUTDIR}"
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
mkdir -p "$OUTDIR"
WORK="$(mktemp -d)"
{
  echo "start $(date -u)"
  python3 -c 'import torch, transformers, onnx, onnxruntime; print("torch", torch.__version__, "transformers", transformers.__version__, "onnx", onnx.__version__, "ort", onnxruntime.__version__)'
  python3 -c 'import tqdm, sympy, packaging, tokenizers; print("tqdm sympy packaging tokenizers ok")'
  python3 -c 'import onnx_ir; print("onnx_ir", onnx_ir.__version__)'
  ONLY="${ONLY:-}" CUDA_VISIBLE_DEVICES="" timeout 900 python3 "$HERE/make_fixtures.py" "$HERE" "$WORK/issue9"
  echo "python exit $?"
  ls -lR "$WORK/issue9"
  echo "end $(date -u)"
} > "$OUTDIR/log.txt" 2>&1
tar -czf "$OUTDIR/result.tar.gz" -C "$WORK" issue9 >> "$OUTDIR/log.txt" 2>&1
rm -rf "$WORK"
exit 0
