#!/bin/bash
# llama.cpp's convert_lora_to_gguf.py on the adapters steerlab's exporter writes, then check_gguf_lora.py on each
# GGUF it makes. The converter is llama.cpp's, not ours: LLAMACPP is a llama.cpp checkout (convert_hf_to_gguf.py,
# convert_lora_to_gguf.py, gguf-py/). With real torch ≥ 2.1, safetensors and transformers, set PY=python3; on a
# Debian machine with only python3-torch 1.13 / -numpy / -sentencepiece / -tqdm, the default runs it through
# run_local.py with the stand-ins in shim/ (both routes wrote byte-identical files).
# Usage: bash scripts/lora/llamacpp/convert.sh LLAMACPP OUTDIR   (fixtures: OUTDIR = test/fixtures/lora/llamacpp)
set -euo pipefail
LL="$(cd "${1:?usage: convert.sh LLAMACPP OUTDIR}" && pwd)"; OUT="$(mkdir -p "${2:?}" && cd "$2" && pwd)"
HERE="$(cd "$(dirname "$0")" && pwd)"; REPO="$(cd "$HERE/../../.." && pwd)"
WORK="$(mktemp -d)"; trap 'rm -rf "$WORK"' EXIT
(cd "$REPO" && npx tsx scripts/lora/write_export_check.ts "$WORK/ours" > /dev/null)
for a in qwen2 gemma2; do
  mkdir -p "$WORK/base/$a"; cp "$REPO/../shared/reference/$a/config.json" "$WORK/base/$a/"   # the converter reads only the config
  for n in r1down r2all mixed; do
    if [ -n "${PY:-}" ]; then (cd "$LL" && "$PY" convert_lora_to_gguf.py --base "$WORK/base/$a" --outfile "$OUT/$a-$n.gguf" "$WORK/ours/$a-$n")
    else (cd "$LL" && PYTHONPATH="$HERE/shim" /usr/bin/python3 "$HERE/run_local.py" --base "$WORK/base/$a" --outfile "$OUT/$a-$n.gguf" "$WORK/ours/$a-$n"); fi > "$WORK/log" 2>&1 || { cat "$WORK/log"; exit 1; }
    PYTHONPATH="$LL/gguf-py" "${PY:-/usr/bin/python3}" "$REPO/scripts/lora/llamacpp/check_gguf_lora.py" "$WORK/ours/$a-$n" "$OUT/$a-$n.gguf"
  done
done
