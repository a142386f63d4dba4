#!/usr/bin/env bash
# On the GPU machine, from the repo root: bash bench/gpu/run.sh OUTDIR [bench args]
# Needs .gpucarry/ (made here by scripts/pack-gpu-bench.sh: node, dawn.node, the bundled bench and ORT's wasm) and
# .gl/ (Vulkan loader debs, see the device notes). Writes OUTDIR/bench.json, OUTDIR/bench.txt, OUTDIR/profile.txt.
set -uo pipefail
OUT="$1"; shift
mkdir -p "$OUT"
for f in .gl/*.deb; do dpkg -x "$f" / 2>/dev/null; done; ldconfig
export VK_DRIVER_FILES=${VK_DRIVER_FILES:-/usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json}
W=/tmp/steerlab-bench; mkdir -p $W
python3 - <<'PY'
import lzma, os, shutil, glob
W = "/tmp/steerlab-bench"
for f in glob.glob(".gpucarry/*.xz"):
    dst = os.path.join(W, os.path.basename(f)[:-3])
    if not os.path.exists(dst):
        with lzma.open(f) as i, open(dst, "wb") as o: shutil.copyfileobj(i, o)
for f in glob.glob(".gpucarry/*"):
    if not f.endswith(".xz"): shutil.copy(f, W)
os.chmod(os.path.join(W, "node"), 0o755)
PY
# onnxruntime-node as $W/node_modules/onnxruntime-node with its binding where its JS looks for it
if [ -f $W/ortnode.tar ] && [ ! -d $W/node_modules/onnxruntime-node ]; then
  tar -C $W -xf $W/ortnode.tar
  mkdir -p $W/node_modules/onnxruntime-node/bin/napi-v6/linux/x64
  cp $W/onnxruntime_binding.node $W/libonnxruntime.so.1 $W/node_modules/onnxruntime-node/bin/napi-v6/linux/x64/
fi
export DAWN_NODE=$W/dawn.node
MODEL=/tmp/bench-model
if [ ! -f $MODEL/torch.json ]; then
  PYTHONUNBUFFERED=1 python3 bench/gpu/make_model.py $MODEL 2>&1 | tail -40 | tee "$OUT/make_model.log"
fi
cp $MODEL/torch.json "$OUT/" 2>/dev/null
nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader | tee "$OUT/gpu.txt"
$W/node --version
# "before" and "after" bundles, when both were packed (gpu_before.mjs: the build being compared against), run
# alternately AB_ROUNDS times on the AB_ONLY rows: run-to-run noise on this box is large, so an A/B is only
# read within one run, round against round
F='XDG_RUNTIME|onnxruntime:, session_state'
run() { local name=$1 lim=$2; shift 2; (cd $W && timeout $lim ./node "$@" 2>&1 | grep --line-buffered -v -E "$F" > "$OUT/$name.txt"); echo "== $name (exit $?)"; tail -${TAIL:-25} "$OUT/$name.txt"; }
if [ -f $W/gpu_before.mjs ]; then
  for r in $(seq 1 ${AB_ROUNDS:-1}); do
    run bench_before_$r ${BEFORE_S:-150} gpu_before.mjs --model $MODEL --json "$OUT/bench_before_$r.json" --only ${AB_ONLY:-train,gen} --gen-tokens 16 --reps 3
    [ "${AB_ROUNDS:-1}" -gt 1 ] && run bench_after_$r ${BEFORE_S:-150} gpu.mjs --model $MODEL --json "$OUT/bench_after_$r.json" --only ${AB_ONLY:-train,gen} --gen-tokens 16 --reps 3
  done
fi
[ "${SKIP_BENCH:-0}" = 1 ] || run bench ${AFTER_S:-260} gpu.mjs --model $MODEL --json "$OUT/bench.json" --reps 5 "$@"
if [ "${PROFILE:-1}" = 1 ] && [ -d $W/node_modules/onnxruntime-node ]; then
  [ -f $W/profile_before.mjs ] && run profile_before ${PROF_S:-60} profile_before.mjs --model $MODEL
  [ -f $W/profile.mjs ] && run profile ${PROF_S:-60} profile.mjs --model $MODEL ${PROFILE_ARGS:-}
fi
