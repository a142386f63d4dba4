#!/usr/bin/env python3
"""Checks a GGUF LoRA written by llama.cpp's convert_lora_to_gguf.py against the steerlab PEFT export it came from.

For every lora_A / lora_B pair in adapter_model.safetensors there must be blk.N.<tensor>.weight.lora_a / .lora_b in
the GGUF with equal values (llama.cpp keeps PEFT's [r, in] / [out, r] layout), general.type must be "adapter",
adapter.type "lora" and adapter.lora.alpha the config's lora_alpha. Prints one JSON line; exit 1 on any mismatch.
Usage: PYTHONPATH=<llama.cpp>/gguf-py python3 check_gguf_lora.py ADAPTER_DIR FILE.gguf
"""
import json, re, struct, sys
import numpy as np
from gguf import GGUFReader

# HF module name -> llama.cpp tensor name (gguf-py's tensor_mapping for the Llama-family blocks we export)
GGUF_NAME = {"self_attn.q_proj": "attn_q", "self_attn.k_proj": "attn_k", "self_attn.v_proj": "attn_v",
             "self_attn.o_proj": "attn_output", "mlp.gate_proj": "ffn_gate", "mlp.up_proj": "ffn_up",
             "mlp.down_proj": "ffn_down"}


def read_safetensors(path):
    raw = open(path, "rb").read()
    n = struct.unpack("<Q", raw[:8])[0]
    header = json.loads(raw[8:8 + n])
    dt = {"F32": np.float32, "F16": np.float16}
    out = {}
    for name, info in header.items():
        if name != "__metadata__":
            a, b = info["data_offsets"]
            out[name] = np.frombuffer(raw[8 + n + a:8 + n + b], dtype=dt[info["dtype"]]).reshape(info["shape"])
    return out


def field(reader, key):
    f = reader.fields[key]
    v = f.parts[f.data[0]]
    return bytes(v).decode() if f.types[0].name == "STRING" else float(v[0])


def main(adapter_dir, gguf_path):
    cfg = json.load(open(f"{adapter_dir}/adapter_config.json"))
    ours = read_safetensors(f"{adapter_dir}/adapter_model.safetensors")
    reader = GGUFReader(gguf_path)
    theirs = {t.name: np.asarray(t.data).reshape([int(d) for d in reversed(t.shape)]) for t in reader.tensors}
    problems, worst = [], 0.0
    for name, value in ours.items():
        m = re.fullmatch(r"base_model\.model\.model\.layers\.(\d+)\.(.+)\.lora_([AB])\.weight", name)
        if not m:
            problems.append(f"unexpected tensor name {name}")
            continue
        key = f"blk.{m[1]}.{GGUF_NAME[m[2]]}.weight.lora_{m[3].lower()}"
        if key not in theirs:
            problems.append(f"{key} missing from the GGUF")
        elif theirs[key].shape != value.shape:
            problems.append(f"{key}: shape {theirs[key].shape} vs ours {value.shape}")
        else:
            worst = max(worst, float(np.abs(theirs[key].astype(np.float64) - value).max()))
    if len(theirs) != len(ours):
        problems.append(f"{len(theirs)} GGUF tensors for {len(ours)} adapter tensors")
    meta = {"general.type": field(reader, "general.type"), "adapter.type": field(reader, "adapter.type"),
            "adapter.lora.alpha": field(reader, "adapter.lora.alpha")}
    if meta["general.type"] != "adapter" or meta["adapter.type"] != "lora":
        problems.append(f"not a LoRA adapter GGUF: {meta}")
    if meta["adapter.lora.alpha"] != float(cfg["lora_alpha"]):
        problems.append(f"alpha {meta['adapter.lora.alpha']} vs config {cfg['lora_alpha']}")
    if worst > 0:
        problems.append(f"values differ by up to {worst}")
    print(json.dumps({"adapter": adapter_dir, "gguf": gguf_path, "tensors": len(theirs), "max_abs_diff": worst,
                      **meta, "ok": not problems, "problems": problems}))
    return 0 if not problems else 1


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:3]))
