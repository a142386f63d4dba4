#!/usr/bin/env bash
# Packs what bench/gpu/run.sh needs on a GPU machine that has no Node and no npm registry into .gpucarry/ (ignored):
# this machine's node binary, dawn.node (npm `webgpu`), onnxruntime-node's Linux binding (for ORT's profiler),
# the bench bundled by esbuild with onnxruntime-web inside, and ORT's WebGPU wasm beside it. xz-compressed where big.
set -euo pipefail
cd "$(dirname "$0")/.."
C=.gpucarry
rm -rf $C && mkdir -p $C
[ -d node_modules/webgpu ] || npm i --no-save webgpu@0.6.2 >/dev/null
npx esbuild bench/gpu.ts --bundle --platform=node --format=esm --target=node20 --outfile=$C/gpu.mjs \
  --external:webgpu --external:onnxruntime-node --external:sharp --log-level=warning \
  --banner:js="import { createRequire as __cr } from 'module'; const require = __cr(import.meta.url);"
if [ -f bench/gpu_profile.ts ]; then
  npx esbuild bench/gpu_profile.ts --bundle --platform=node --format=esm --target=node20 --outfile=$C/profile.mjs \
    --external:webgpu --external:sharp --external:onnxruntime-node --log-level=warning \
    --banner:js="import { createRequire as __cr } from 'module'; const require = __cr(import.meta.url);" 2>/dev/null || echo "profile bundle skipped"
fi
# onnxruntime-node (for the profiler) as a package folder: its JS, onnxruntime-common and the Linux x64 binding
P=$C/pkg/node_modules; mkdir -p $P/onnxruntime-node/bin/napi-v6/linux/x64
cp -r node_modules/onnxruntime-node/{package.json,dist} $P/onnxruntime-node/
cp -r node_modules/onnxruntime-common $P/
tar -C $C/pkg -cf - node_modules | xz -T2 -3 > $C/ortnode.tar.xz
xz -T2 -6 -c node_modules/onnxruntime-node/bin/napi-v6/linux/x64/libonnxruntime.so.1 > $C/libonnxruntime.so.1.xz
cp node_modules/onnxruntime-node/bin/napi-v6/linux/x64/onnxruntime_binding.node $C/
rm -rf $C/pkg
cp node_modules/onnxruntime-web/dist/ort-wasm-simd-threaded.asyncify.wasm $C/
cp node_modules/onnxruntime-web/dist/ort-wasm-simd-threaded.asyncify.mjs $C/
[ -f /tmp/node.xz ] || xz -T2 -6 -c "$(command -v node)" > /tmp/node.xz
cp /tmp/node.xz $C/node.xz
xz -T2 -6 -c node_modules/webgpu/dist/linux-x64/dawn.node > $C/dawn.node.xz
xz -T2 -6 -f $C/ort-wasm-simd-threaded.asyncify.wasm
du -sh $C/*
