# Local stand-in for safetensors.torch.load_file (Debian bookworm has no python3-safetensors): reads the
# documented layout (u64 header length, JSON header, raw little-endian data) so llama.cpp's converter can run here.
import json, struct, torch
_DT = {"F32": torch.float32, "F16": torch.float16, "BF16": torch.bfloat16}
def load_file(path, device="cpu"):
    raw = open(path, "rb").read()
    n = struct.unpack("<Q", raw[:8])[0]
    header = json.loads(raw[8:8 + n])
    out = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        a, b = info["data_offsets"]
        buf = bytearray(raw[8 + n + a: 8 + n + b])
        out[name] = torch.frombuffer(buf, dtype=_DT[info["dtype"]]).reshape(info["shape"]).clone()
    return out
