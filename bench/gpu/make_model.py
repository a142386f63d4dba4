"""GPU-box side of `npm run bench:gpu`: a random Qwen2.5-0.5B-shaped model (the real config, HF init), its ONNX
exports the way the Hub's onnx-community files are made (as far as this box allows: no Optimum here, so the
text-generation-with-past layout is produced by torch.onnx with Optimum's input/output names), the q4 pass with
transformers.js's q4 settings (MatMulNBits, block 32, symmetric; the Gather embedding stays fp32), and the PyTorch/CUDA
anchor timings for the same steering step.

  python3 bench/gpu/make_model.py OUTDIR

OUTDIR gets config.json, model.safetensors (bf16 weights are NOT used: fp32), model_q4.onnx (input_ids +
attention_mask -> logits: the layout our loader follows), hub/onnx/model_q4.onnx (with past: input_ids,
attention_mask, position_ids, past_key_values.N.key/value -> logits, present.N.key/value), hub/config.json,
and torch.json (timings, export notes).
"""
import json, os, sys, time, math, traceback
import torch

OUT = sys.argv[1]
os.makedirs(os.path.join(OUT, "hub", "onnx"), exist_ok=True)
notes = {}
torch.backends.cuda.matmul.allow_tf32 = False
torch.backends.cudnn.allow_tf32 = False

import transformers as T
cfg = T.Qwen2Config(
    vocab_size=151936, hidden_size=896, intermediate_size=4864, num_hidden_layers=24, num_attention_heads=14,
    num_key_value_heads=2, max_position_embeddings=32768, rms_norm_eps=1e-6, rope_theta=1000000.0,
    tie_word_embeddings=True, hidden_act="silu", bos_token_id=151643, eos_token_id=151645, torch_dtype="float32",
)
cfg._attn_implementation = "eager"
torch.manual_seed(0)
model = T.Qwen2ForCausalLM(cfg).eval()
# HF init draws N(0, 0.02); norms are 1. Randomise norms a little so a wrong norm shows.
with torch.no_grad():
    for n, p in model.named_parameters():
        if "norm" in n:
            p.add_(0.05 * torch.randn_like(p))
NL, KVH, HD = cfg.num_hidden_layers, cfg.num_key_value_heads, cfg.hidden_size // cfg.num_attention_heads
model.config.save_pretrained(OUT)
model.config.save_pretrained(os.path.join(OUT, "hub"))
json.dump({"bos_token_id": 151643, "eos_token_id": [151645, 151643], "do_sample": True}, open(os.path.join(OUT, "hub", "generation_config.json"), "w"))

def log(*a):
    print(*a, flush=True)

# ---------------------------------------------------------------- exports
def quantize_q4(src, dst):
    import onnx
    from onnxruntime.quantization.matmul_nbits_quantizer import MatMulNBitsQuantizer
    m = onnx.load(src)
    q = MatMulNBitsQuantizer(m, block_size=32, is_symmetric=True)
    q.process()
    q.model.save_model_to_file(dst, use_external_data_format=False)

class Plain(torch.nn.Module):
    def __init__(s, m): super().__init__(); s.m = m
    def forward(s, input_ids, attention_mask):
        return s.m(input_ids=input_ids, attention_mask=attention_mask, use_cache=False).logits

def cache_from(flat):
    c = T.DynamicCache()
    for i in range(NL):
        c.update(flat[2 * i], flat[2 * i + 1], i)
    return c

def cache_tensors(c):
    out = []
    for i in range(NL):
        if hasattr(c, "layers"):
            out += [c.layers[i].keys, c.layers[i].values]
        else:
            out += [c.key_cache[i], c.value_cache[i]]
    return out

class WithPast(torch.nn.Module):
    def __init__(s, m): super().__init__(); s.m = m
    def forward(s, input_ids, attention_mask, position_ids, *past):
        o = s.m(input_ids=input_ids, attention_mask=attention_mask, position_ids=position_ids,
                past_key_values=cache_from(past), use_cache=True)
        return (o.logits, *cache_tensors(o.past_key_values))

t0 = time.time()
ids = torch.randint(0, cfg.vocab_size, (2, 8))
am = torch.ones_like(ids)
tmp = "/tmp/bench_onnx"; os.makedirs(tmp, exist_ok=True)
try:
    torch.onnx.export(Plain(model), (ids, am), f"{tmp}/plain.onnx", input_names=["input_ids", "attention_mask"],
                      output_names=["logits"], opset_version=17, dynamo=False,
                      dynamic_axes={"input_ids": {0: "batch", 1: "seq"}, "attention_mask": {0: "batch", 1: "seq"}, "logits": {0: "batch", 1: "seq"}})
    quantize_q4(f"{tmp}/plain.onnx", os.path.join(OUT, "model_q4.onnx"))
    notes["plain_export"] = "torchscript"
except Exception as e:
    notes["plain_export"] = "failed: " + repr(e)[:400]; traceback.print_exc()
log("plain export", notes["plain_export"], f"{time.time() - t0:.0f}s")

t0 = time.time()
P = 3
pids = torch.randint(0, cfg.vocab_size, (2, 5))
pam = torch.ones(2, P + 5, dtype=torch.long)
pos = torch.arange(P, P + 5).unsqueeze(0).expand(2, -1).contiguous()
past = [torch.randn(2, KVH, P, HD) for _ in range(2 * NL)]
names_in = ["input_ids", "attention_mask", "position_ids"] + [f"past_key_values.{i}.{kv}" for i in range(NL) for kv in ("key", "value")]
names_out = ["logits"] + [f"present.{i}.{kv}" for i in range(NL) for kv in ("key", "value")]
dyn = {"input_ids": {0: "batch_size", 1: "sequence_length"}, "attention_mask": {0: "batch_size", 1: "total_sequence_length"},
       "position_ids": {0: "batch_size", 1: "sequence_length"}, "logits": {0: "batch_size", 1: "sequence_length"}}
for n in names_in[3:]: dyn[n] = {0: "batch_size", 2: "past_sequence_length"}
for n in names_out[1:]: dyn[n] = {0: "batch_size", 2: "total_sequence_length"}
hubq = os.path.join(OUT, "hub", "onnx", "model_q4.onnx")
for how in ("torchscript", "dynamo"):
    try:
        if how == "torchscript":
            torch.onnx.export(WithPast(model), (pids, pam, pos, *past), f"{tmp}/past.onnx", input_names=names_in,
                              output_names=names_out, opset_version=17, dynamo=False, dynamic_axes=dyn)
        else:
            torch.onnx.export(WithPast(model), (pids, pam, pos, *past), f"{tmp}/past.onnx", input_names=names_in,
                              output_names=names_out, dynamo=True, dynamic_axes=dyn)
        quantize_q4(f"{tmp}/past.onnx", hubq)
        # check it on a different past length than the trace saw
        import onnxruntime as ort
        s = ort.InferenceSession(hubq, providers=["CPUExecutionProvider"])
        P2, T2 = 6, 4
        ids2 = torch.randint(0, cfg.vocab_size, (1, P2 + T2))
        full = s.run(None, {"input_ids": ids2.numpy(), "attention_mask": torch.ones(1, P2 + T2, dtype=torch.long).numpy(),
                            "position_ids": torch.arange(P2 + T2).unsqueeze(0).numpy(),
                            **{n: torch.zeros(1, KVH, 0, HD).numpy() for n in names_in[3:]}})
        first = s.run(None, {"input_ids": ids2[:, :P2].numpy(), "attention_mask": torch.ones(1, P2, dtype=torch.long).numpy(),
                             "position_ids": torch.arange(P2).unsqueeze(0).numpy(),
                             **{n: torch.zeros(1, KVH, 0, HD).numpy() for n in names_in[3:]}})
        second = s.run(None, {"input_ids": ids2[:, P2:].numpy(), "attention_mask": torch.ones(1, P2 + T2, dtype=torch.long).numpy(),
                              "position_ids": torch.arange(P2, P2 + T2).unsqueeze(0).numpy(),
                              **{n: first[1 + i] for i, n in enumerate(names_in[3:])}})
        err = float(abs(torch.from_numpy(second[0]) - torch.from_numpy(full[0][:, P2:])).max())
        notes["past_export"] = how
        notes["past_export_cache_consistency_max_abs"] = err
        log("with-past export", how, "cache consistency", err)
        if err < 1e-3: break
    except Exception as e:
        notes[f"past_export_{how}"] = "failed: " + repr(e)[:400]; traceback.print_exc()
log("past export", f"{time.time() - t0:.0f}s")
cfgj = json.load(open(os.path.join(OUT, "hub", "config.json")))
cfgj["transformers.js_config"] = {"use_external_data_format": False}
json.dump(cfgj, open(os.path.join(OUT, "hub", "config.json"), "w"), indent=1)

# ---------------------------------------------------------------- PyTorch/CUDA anchor
dev = "cuda"
m = model.to(dev)
B, Tq, L = 4, 128, 12
g = torch.Generator().manual_seed(1)
x = torch.randint(0, cfg.vocab_size, (B, Tq), generator=g).to(dev)
lm = torch.zeros(B, Tq, dtype=torch.bool, device=dev); lm[:, Tq // 2:] = True
v = torch.zeros(cfg.hidden_size, device=dev, requires_grad=True)
alpha = 256.0
def hook(_m, _i, out):
    if isinstance(out, tuple): return (out[0] + alpha * v,) + tuple(out[1:])
    return out + alpha * v
h = m.model.layers[L].register_forward_hook(hook)
def ce():
    logits = m(input_ids=x, use_cache=False).logits
    lp = torch.log_softmax(logits[:, :-1].float(), -1)
    tgt = x[:, 1:]
    sel = lm[:, 1:]
    return -(lp.gather(-1, tgt.unsqueeze(-1)).squeeze(-1)[sel]).mean()
def timeit(fn, reps=20):
    for _ in range(3): fn()
    torch.cuda.synchronize()
    ts = []
    for _ in range(reps):
        a = torch.cuda.Event(enable_timing=True); b = torch.cuda.Event(enable_timing=True)
        a.record(); fn(); b.record(); torch.cuda.synchronize(); ts.append(a.elapsed_time(b))
    ts.sort(); return ts[len(ts) // 2]
def fwd():
    with torch.no_grad(): ce()
def fwdbwd():
    v.grad = None; l = ce(); l.backward()
res = {"gpu": torch.cuda.get_device_name(0), "torch": torch.__version__, "transformers": T.__version__}
res["fwd_ms"] = timeit(fwd); res["fwd_bwd_ms"] = timeit(fwdbwd)
torch.cuda.reset_peak_memory_stats(); fwdbwd(); res["fwd_bwd_peak_mib"] = torch.cuda.max_memory_allocated() / 2**20
h.remove()
# generation: 32-token prompt, 64 new tokens, sampling at temperature 1
for bs in (1, 8):
    prompt = torch.randint(0, cfg.vocab_size, (bs, 32), generator=g).to(dev)
    kw = dict(max_new_tokens=64, min_new_tokens=64, do_sample=True, temperature=1.0, top_p=1.0, top_k=0, pad_token_id=0)
    with torch.no_grad():
        m.generate(prompt, **kw); torch.cuda.synchronize()
        t0 = time.time(); m.generate(prompt, **kw); torch.cuda.synchronize()
    res[f"gen_b{bs}_tok_s"] = 64 * bs / (time.time() - t0)
res.update(notes)
json.dump(res, open(os.path.join(OUT, "torch.json"), "w"), indent=1)
log(json.dumps(res))
