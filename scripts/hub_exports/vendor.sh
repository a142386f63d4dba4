#!/bin/bash
# Assembles vendor/ (pure-Python exporter source) next to make_fixtures.py, from bare git mirrors of the public
# repositories at the commits the committed fixtures were made with. Third-party code is not kept in this repo.
#   MIRRORS=/path/with/<owner>+<name>/repo bash scripts/hub_exports/vendor.sh OUTDIR
set -e
M="${MIRRORS:?set MIRRORS to the folder holding <owner>+<name>/repo bare clones}"; J="${1:?usage: vendor.sh OUTDIR}"
mkdir -p "$J/vendor/tjs_scripts" "$J/vendor/onnxslim"
git --git-dir="$M/huggingface+optimum/repo" archive 83c88b8fc51e791f263a954e3568e1d2a02aa003 optimum | tar -x -C "$J/vendor" --exclude='optimum/fx' --exclude='optimum/gptq'
git --git-dir="$M/huggingface+optimum-onnx/repo" archive 1939f27a1d04bd9fdf4c3b17eaa70a99dcd380c6 optimum/exporters/onnx optimum/onnx optimum/commands | tar -x -C "$J/vendor"
for f in quantize.py float16.py utils.py; do
  git --git-dir="$M/huggingface+transformers.js/repo" show "3c64b72675cb4b17ec8974e11f0779a54d8618ec:scripts/$f" > "$J/vendor/tjs_scripts/$f"
done
touch "$J/vendor/tjs_scripts/__init__.py"
git --git-dir="$M/inisis+OnnxSlim/repo" archive 813a3536e779f59f757e994af2d5d4c21cbb45ca onnxslim/third_party | tar -x -C "$J/vendor"
echo '# only third_party/onnx_graphsurgeon is vendored (for transformers.js float16.py)' > "$J/vendor/onnxslim/__init__.py"
git --git-dir="$M/microsoft+onnxruntime-genai/repo" archive a0c04eb1313b886c963e415bbd974748cb89a4eb src/python/py/models | tar -x -C "$J/vendor" --strip-components=3 --exclude='*.md'
# the tiny checkpoints: ../shared/reference/{qwen2,qwen3,llama,gemma3}/{config.json,generation_config.json,model.safetensors}
