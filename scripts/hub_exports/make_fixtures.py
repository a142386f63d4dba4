"""Issue 9 fixtures: tiny models exported in the layouts of the exporters the Hub uses.

usage: make_fixtures.py HERE OUTDIR

HERE holds models/<arch>/ (tiny random HF checkpoints from shared/reference: hidden 64, 4 layers, vocab 1000) and
vendor/ (pure-Python source of the exporters, see README):
  vendor/optimum             huggingface/optimum @83c88b8 + huggingface/optimum-onnx @1939f27 (optimum/exporters/onnx)
  vendor/tjs_scripts         huggingface/transformers.js @3c64b72 scripts/{quantize,float16,utils}.py
  vendor/onnxslim            inisis/OnnxSlim @813a353 onnxslim/third_party (graphsurgeon, used by float16.py)
  vendor/models              microsoft/onnxruntime-genai @a0c04eb src/python/py/models (builder.py)

Writes OUTDIR/<fixture>/ with config.json, the ONNX files, export_info.json (what ran, what failed and why) and
ort_logits.safetensors (onnxruntime CPU logits of every file on the same token ids, plus the torch logits).
Every step is wrapped: a failure is logged and the next fixture is made.
"""
import json, os, sys, shutil, subprocess, traceback, glob

HERE, OUT = sys.argv[1], sys.argv[2]
VENDOR = os.path.join(HERE, "vendor")
os.makedirs(OUT, exist_ok=True)
sys.path.insert(0, VENDOR)

import numpy as np
import torch
import onnx

ARCHES = ["qwen2", "qwen3", "llama", "gemma3"]
IDS = np.array([[2, 17, 256, 999, 3, 512, 42, 7, 100, 64]], dtype=np.int64)  # T = 10 > Gemma's sliding window 8
SUMMARY = {}


def log(*a):
    print(*a, flush=True)


def hf_model(arch):
    import transformers as T
    d = os.path.join(HERE, "models", arch)
    try:
        m = T.AutoModelForCausalLM.from_pretrained(d, attn_implementation="eager", dtype=torch.float32)
    except TypeError:
        m = T.AutoModelForCausalLM.from_pretrained(d, attn_implementation="eager", torch_dtype=torch.float32)
    return m.eval()


def torch_logits(arch):
    m = hf_model(arch)
    with torch.no_grad():
        ids = torch.from_numpy(IDS)
        return m(input_ids=ids, attention_mask=torch.ones_like(ids), use_cache=False).logits.float().numpy()


def copy_model_files(arch, dst):
    os.makedirs(dst, exist_ok=True)
    for f in ("config.json", "generation_config.json"):
        shutil.copy(os.path.join(HERE, "models", arch, f), os.path.join(dst, f))


# ---------------------------------------------------------------------------------------------------- feeding ORT
def ort_run(path):
    """onnxruntime CPU logits of one file on IDS; every graph input is fed by its name (empty past)."""
    import onnxruntime as ort
    so = ort.SessionOptions()
    so.log_severity_level = 3
    s = ort.InferenceSession(path, so, providers=["CPUExecutionProvider"])
    B, T = IDS.shape
    feeds = {}
    np_of = {"tensor(float)": np.float32, "tensor(float16)": np.float16, "tensor(int64)": np.int64, "tensor(int32)": np.int32}
    for i in s.get_inputs():
        dt = np_of.get(i.type)
        if dt is None:
            raise RuntimeError(f"input {i.name} has type {i.type}")
        if i.name == "input_ids":
            feeds[i.name] = IDS.astype(dt)
        elif i.name == "attention_mask":
            feeds[i.name] = np.ones((B, T), dtype=dt)
        elif i.name == "position_ids":
            feeds[i.name] = np.arange(T, dtype=dt)[None].repeat(B, 0)
        elif i.name.startswith("past_key_values") or i.name.startswith("past_"):
            shape = [B if k == 0 else (d if isinstance(d, int) else 0) for k, d in enumerate(i.shape)]
            feeds[i.name] = np.zeros(shape, dtype=dt)
        elif i.name in ("num_logits_to_keep", "logits_to_keep"):
            feeds[i.name] = np.array(0, dtype=dt)
        else:
            raise RuntimeError(f"do not know how to feed input {i.name} {i.type} {i.shape}")
    outs = [o.name for o in s.get_outputs()]
    name = "logits" if "logits" in outs else outs[0]
    return s.run([name], feeds)[0].astype(np.float32), [(i.name, i.type, i.shape) for i in s.get_inputs()], outs


def record(fixture_dir, info):
    """ORT logits of every .onnx under the fixture, saved beside them; differences to torch logged."""
    from safetensors.numpy import save_file
    arch = info["arch"]
    tl = torch_logits(arch)
    tensors = {"input_ids": IDS.astype(np.int32), "torch_logits": tl}
    info["files"] = {}
    for p in sorted(glob.glob(os.path.join(fixture_dir, "**", "*.onnx"), recursive=True)):
        rel = os.path.relpath(p, fixture_dir)
        entry = {"bytes": os.path.getsize(p)}
        base = os.path.basename(p)
        chunks = sorted(f for f in os.listdir(os.path.dirname(p)) if f.startswith(base + "_data") or f == base + ".data")
        entry["external"] = {c: os.path.getsize(os.path.join(os.path.dirname(p), c)) for c in chunks}
        try:
            m = onnx.load(p, load_external_data=False)
            entry["opset"] = {o.domain or "ai.onnx": o.version for o in m.opset_import}
            entry["ops"] = sorted({n.op_type for n in m.graph.node})
            lg, ins, outs = ort_run(p)
            entry["inputs"] = [f"{n} {t} {s}" for n, t, s in ins]
            entry["outputs"] = outs
            tensors["ort::" + rel] = lg
            entry["ort_vs_torch_max_abs"] = float(np.abs(lg - tl).max())
        except Exception as e:
            entry["ort_error"] = f"{type(e).__name__}: {e}"[:2000]
        info["files"][rel] = entry
        log(f"  {rel}: {json.dumps({k: v for k, v in entry.items() if k not in ('inputs',)})[:600]}")
    save_file(tensors, os.path.join(fixture_dir, "ort_logits.safetensors"))
    with open(os.path.join(fixture_dir, "export_info.json"), "w") as f:
        json.dump(info, f, indent=1)
    SUMMARY[os.path.basename(fixture_dir)] = info


# ------------------------------------------------------------------------------------- Optimum with-past export
OPTIMUM_IMPORT_FAILURE = []


def try_optimum(arch, out_dir):
    """Optimum's own exporter (what transformers.js scripts/convert.py runs), in a subprocess with a time limit."""
    if OPTIMUM_IMPORT_FAILURE:  # optimum itself does not import here: the same for every architecture
        return False, "not retried: " + OPTIMUM_IMPORT_FAILURE[0]
    code = (
        "import sys; sys.path.insert(0, %r)\n"
        "from optimum.exporters.onnx import main_export\n"
        "main_export(%r, output=%r, task='text-generation-with-past', do_validation=False, device='cpu', library_name='transformers')\n"
    ) % (VENDOR, os.path.join(HERE, "models", arch), out_dir)
    try:
        r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=240)
    except subprocess.TimeoutExpired:
        return False, "optimum main_export timed out after 240 s"
    ok = r.returncode == 0 and os.path.exists(os.path.join(out_dir, "model.onnx"))
    tail = (r.stdout[-1500:] + "\n" + r.stderr[-3000:]).strip()
    if not ok and any(k in tail for k in ("ModuleNotFoundError", "ImportError", "cannot import name")):
        OPTIMUM_IMPORT_FAILURE.append(f"optimum failed to import (first tried with {arch}): " + tail[-1500:])
    return ok, tail


class WithPast(torch.nn.Module):
    """Optimum's text-generation-with-past signature: input_ids, attention_mask, position_ids,
    past_key_values.N.key/value → logits, present.N.key/value."""

    def __init__(self, m):
        super().__init__()
        self.m = m
        self.L = m.config.num_hidden_layers

    def forward(self, input_ids, attention_mask, position_ids, *past):
        from transformers import DynamicCache
        try:
            cache = DynamicCache(config=self.m.config)
        except TypeError:
            cache = DynamicCache()
        for i in range(self.L):
            cache.update(past[2 * i], past[2 * i + 1], i)
        out = self.m(input_ids=input_ids, attention_mask=attention_mask, position_ids=position_ids,
                     past_key_values=cache, use_cache=True)
        c = out.past_key_values
        pres = []
        for i in range(self.L):
            if hasattr(c, "layers"):
                pres += [c.layers[i].keys, c.layers[i].values]
            else:
                pres += [c.key_cache[i], c.value_cache[i]]
        return (out.logits, *pres)


def torch_with_past(arch, path):
    m = hf_model(arch)
    cfg = m.config
    L, kvh = cfg.num_hidden_layers, cfg.num_key_value_heads
    hd = getattr(cfg, "head_dim", None) or cfg.hidden_size // cfg.num_attention_heads
    B, S, P = 1, 3, 2
    ids = torch.randint(0, cfg.vocab_size, (B, S))
    am = torch.ones(B, P + S, dtype=torch.long)
    pos = torch.arange(P, P + S)[None]
    past = []
    names, dyn = [], {"input_ids": {0: "batch_size", 1: "sequence_length"},
                      "attention_mask": {0: "batch_size", 1: "total_sequence_length"},
                      "position_ids": {0: "batch_size", 1: "sequence_length"},
                      "logits": {0: "batch_size", 1: "sequence_length"}}
    outs = ["logits"]
    for i in range(L):
        for kv in ("key", "value"):
            past.append(torch.randn(B, kvh, P, hd))
            n = f"past_key_values.{i}.{kv}"
            names.append(n)
            dyn[n] = {0: "batch_size", 2: "past_sequence_length"}
            o = f"present.{i}.{kv}"
            outs.append(o)
            dyn[o] = {0: "batch_size", 2: "total_sequence_length"}
    w = WithPast(m)
    torch.onnx.export(w, (ids, am, pos, *past), path, input_names=["input_ids", "attention_mask", "position_ids", *names],
                      output_names=outs, dynamic_axes=dyn, opset_version=18, dynamo=False)


def no_past(arch, path):
    m = hf_model(arch)

    class W(torch.nn.Module):
        def __init__(s, m):
            super().__init__()
            s.m = m

        def forward(s, input_ids, attention_mask, position_ids):
            return s.m(input_ids=input_ids, attention_mask=attention_mask, position_ids=position_ids, use_cache=False).logits

    ids = torch.randint(0, m.config.vocab_size, (1, 5))
    dyn = {k: {0: "batch_size", 1: "sequence_length"} for k in ("input_ids", "attention_mask", "position_ids", "logits")}
    torch.onnx.export(W(m), (ids, torch.ones_like(ids), torch.arange(5)[None]), path, opset_version=18, dynamo=False,
                      input_names=["input_ids", "attention_mask", "position_ids"], output_names=["logits"], dynamic_axes=dyn)


def tjs_layout(arch):
    """Optimum with-past export (or the torch.onnx stand-in) + transformers.js quantize.py modes."""
    fx = os.path.join(OUT, f"tjs-{arch}")
    onnx_dir = os.path.join(fx, "onnx")
    os.makedirs(onnx_dir, exist_ok=True)
    copy_model_files(arch, fx)
    info = {"arch": arch, "layout": "optimum", "source_checkpoint": f"shared/reference/{arch}"}
    work = os.path.join(OUT, "_work", arch)
    shutil.rmtree(work, ignore_errors=True)
    os.makedirs(work)
    ok, tail = try_optimum(arch, work)
    info["optimum_attempt"] = {"ok": ok, "log_tail": tail}
    log(f"[{arch}] optimum main_export ok={ok}\n{tail[-1200:]}")
    base = os.path.join(work, "model.onnx")
    if ok:
        info["exporter"] = "optimum main_export(task='text-generation-with-past') (huggingface/optimum-onnx @1939f27)"
        onnx.save(onnx.load(base), base)  # gather any external data into one file for the quantizers
    else:
        info["exporter"] = ("torch.onnx.export(dynamo=False) with Optimum's with-past input/output names "
                            "(stand-in: optimum could not run, see optimum_attempt)")
        try:
            torch_with_past(arch, base)
            lg, _, _ = ort_run(base)
            diff = float(np.abs(lg - torch_logits(arch)).max())
            info["with_past_check_max_abs_vs_torch"] = diff
            if not diff < 1e-3:
                raise RuntimeError(f"with-past export disagrees with torch by {diff}")
        except Exception as e:
            info["with_past_error"] = traceback.format_exc()[-2500:]
            log(f"[{arch}] with-past export failed, exporting without past: {e}")
            info["exporter"] = ("torch.onnx.export(dynamo=False) WITHOUT past (input_ids, attention_mask, position_ids -> logits); "
                                "Optimum could not run and the with-past trace failed, see optimum_attempt / with_past_error")
            no_past(arch, base)
    from tjs_scripts import quantize as Q
    modes = ["q4", "q4f16", "q8", "bnb4"] + (["fp16"] if arch == "qwen2" else [])
    info["quantize"] = {}
    for mode in modes:
        try:
            Q.quantize(work, onnx_dir, Q.QuantizationArguments(modes=[mode]))
            info["quantize"][mode] = "ok"
        except Exception as e:
            info["quantize"][mode] = f"{type(e).__name__}: {e}"[:1500]
            log(f"[{arch}] quantize {mode} failed: {traceback.format_exc()[-1500:]}")
    if arch == "qwen2":
        shutil.copy(base, os.path.join(onnx_dir, "model.onnx"))
    record(fx, info)


# ------------------------------------------------------------------------------- several external-data chunks
def chunked(arch="qwen2"):
    """fp32 model.onnx with its initializers in 3 files model.onnx_data, _data_1, _data_2 (transformers.js naming;
    config.json says use_external_data_format: {"model.onnx": 3})."""
    src = os.path.join(OUT, f"tjs-{arch}", "onnx", "model.onnx")
    fx = os.path.join(OUT, f"chunks-{arch}")
    os.makedirs(os.path.join(fx, "onnx"), exist_ok=True)
    copy_model_files(arch, fx)
    m = onnx.load(src)
    inits = [t for t in m.graph.initializer if t.raw_data and len(t.raw_data) >= 1024]
    total = sum(len(t.raw_data) for t in inits)
    per = total / 3
    acc, files = 0, {}
    for t in inits:
        k = min(2, int(acc // per))
        loc = "model.onnx_data" + ("" if k == 0 else f"_{k}")
        off = files.setdefault(loc, bytearray())
        data = t.raw_data
        pad = (-len(off)) % 64
        off.extend(b"\0" * pad)
        o = len(off)
        off.extend(data)
        acc += len(data)
        t.ClearField("raw_data")
        t.data_location = onnx.TensorProto.EXTERNAL
        del t.external_data[:]
        for kk, vv in (("location", loc), ("offset", str(o)), ("length", str(len(data)))):
            e = t.external_data.add()
            e.key, e.value = kk, vv
    with open(os.path.join(fx, "onnx", "model.onnx"), "wb") as f:
        f.write(m.SerializeToString())
    for loc, b in files.items():
        with open(os.path.join(fx, "onnx", loc), "wb") as f:
            f.write(bytes(b))
    cj = json.load(open(os.path.join(fx, "config.json")))
    cj["transformers.js_config"] = {"use_external_data_format": {"model.onnx": len(files)}}
    json.dump(cj, open(os.path.join(fx, "config.json"), "w"), indent=2)
    record(fx, {"arch": arch, "layout": "optimum", "exporter": "tjs-qwen2/onnx/model.onnx re-saved with its initializers in 3 external files"})


# ------------------------------------------------------------------------------------ onnxruntime-genai builder
def tiny_tokenizer(dst, vocab):
    """builder.py saves the tokenizer beside the model; the checkpoints have vocab 1000, so a WordLevel stand-in."""
    from tokenizers import Tokenizer, models, pre_tokenizers
    from transformers import PreTrainedTokenizerFast
    v = {f"t{i}": i for i in range(vocab)}
    tk = Tokenizer(models.WordLevel(v, unk_token="t0"))
    tk.pre_tokenizer = pre_tokenizers.Whitespace()
    PreTrainedTokenizerFast(tokenizer_object=tk, unk_token="t0", bos_token="t2", eos_token="t1", pad_token="t0").save_pretrained(dst)


def run_builder(arch, out_dir, precision, ep, extra, separate_rope=False):
    """builder.py in a subprocess. separate_rope: RotaryEmbedding nodes before GQA (do_rotary 0), as the Gemma build
    layout has, by making the builder's is_fused_rope_supported() answer False."""
    inp = os.path.join(OUT, "_work", f"builder-in-{arch}")
    if not os.path.exists(inp):
        shutil.copytree(os.path.join(HERE, "models", arch), inp)
        tiny_tokenizer(inp, json.load(open(os.path.join(inp, "config.json")))["vocab_size"])
    cache = os.path.join(OUT, "_work", "builder-cache")
    shutil.rmtree(out_dir, ignore_errors=True)
    bpath = os.path.join(VENDOR, "models", "builder.py")
    args = ["-i", inp, "-o", out_dir, "-p", precision, "-e", ep, "-c", cache, "--extra_options", *extra]
    code = ("import sys, runpy\n"
            f"sys.path.insert(0, {os.path.join(VENDOR, 'models')!r})\n"
            f"sys.argv = [{bpath!r}] + {args!r}\n"
            "import transformers as T\n"
            "def _rp(self, kind):\n"
            "    rp = getattr(self, 'rope_parameters', None) or {}\n"
            "    rp = rp.get(kind, rp)\n"
            "    return rp.get('rope_theta')\n"
            "def _prop(name, kind):\n"
            "    key = '_fx_' + name\n"
            "    return property(lambda self: self.__dict__.get(key) or _rp(self, kind), lambda self, v: self.__dict__.__setitem__(key, v))\n"
            "for _c in [getattr(T, n, None) for n in ('Gemma3TextConfig',)]:\n"
            "    if _c is not None and not hasattr(_c, 'rope_local_base_freq'):\n"
            "        _c.rope_local_base_freq = _prop('rope_local_base_freq', 'sliding_attention')\n"
            "    if _c is not None and not hasattr(_c, 'rope_theta'):\n"
            "        _c.rope_theta = _prop('rope_theta', 'full_attention')\n"
            "import builders.base as B\n"
            + ("B.Model.is_fused_rope_supported = lambda self: False\n" if separate_rope else "")
            + f"runpy.run_path({bpath!r}, run_name='__main__')\n")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300, cwd=os.path.join(VENDOR, "models"))
    tail = (r.stdout[-2000:] + "\n" + r.stderr[-3000:]).strip()
    cmd = "builder.py " + " ".join(args[:1] + [f"models/{arch}"] + args[2:]) + (" [is_fused_rope_supported -> False]" if separate_rope else "")
    log(f"{cmd} rc={r.returncode}\n{tail[-2500:]}")
    # the ONNX model is written before the tokenizer / genai_config steps; a failure after it still leaves a model
    return os.path.exists(os.path.join(out_dir, "model.onnx")), cmd + f" (rc {r.returncode})", tail


def genai_layout(arch="qwen2"):
    fx = os.path.join(OUT, f"genai-{arch}")
    ok, cmd, tail = run_builder(arch, fx, "int4", "cpu", ["shared_embeddings=true", "accuracy_level=4", "op_types_to_quantize=MatMul/Gather"])
    if not ok:  # without the quantised (GatherBlockQuantized) embedding
        first = tail
        ok, cmd, tail = run_builder(arch, fx, "int4", "cpu", ["shared_embeddings=true", "accuracy_level=4"])
        tail = "first attempt (op_types_to_quantize=MatMul/Gather) failed:\n" + first[-1500:] + "\n---\n" + tail
    info = {"arch": arch, "layout": "genai", "exporter": "onnxruntime-genai builder.py @a0c04eb: " + cmd, "ok": ok, "log_tail": tail[-3000:]}
    copy_model_files(arch, fx)
    record(fx, info)


def gemma_build(arch="gemma3"):
    """The Gemma build layout (onnx-community gemma-3-*-ONNX): GQA + RotaryEmbedding + SimplifiedLayerNormalization
    with (1 + w) baked, MatMulNBits accuracy_level 4, tied head as Transpose(embedding) + MatMul, external data.
    Made by onnxruntime-genai's builder (the same contrib-op graph) and then re-tied: the builder's separate
    /lm_head MatMul(NBits) is replaced by MatMul(x, Transpose(embed_tokens weight)) in the activation dtype."""
    fx = os.path.join(OUT, f"gemma-build-{arch}")
    os.makedirs(os.path.join(fx, "onnx"), exist_ok=True)
    copy_model_files(arch, fx)
    info = {"arch": arch, "layout": "gemma-build", "builds": {}}
    for name, ep in (("model_q4f16", "webgpu"), ("model_q4", "cpu")):
        tmp = os.path.join(OUT, "_work", f"gemma-{ep}")
        ok, cmd, tail = run_builder(arch, tmp, "int4", ep, ["shared_embeddings=false", "accuracy_level=4"], separate_rope=True)
        b = {"builder": cmd, "ok": ok, "log_tail": tail[-2000:]}
        if not ok:  # the builder's usual graph (rotary inside GQA) is still the closest layout there is
            b["separate_rope_failed"] = tail[-2000:]
            ok, cmd, tail = run_builder(arch, tmp, "int4", ep, ["shared_embeddings=false", "accuracy_level=4"])
            b.update({"builder": cmd, "ok": ok, "log_tail": tail[-2000:]})
        info["builds"][name] = b
        if not ok:
            continue
        try:
            m = onnx.load(os.path.join(tmp, "model.onnx"))
            retie(m, b)
            onnx.save(m, os.path.join(fx, "onnx", name + ".onnx"), save_as_external_data=True, all_tensors_to_one_file=True,
                      location=name + ".onnx_data", size_threshold=0)
        except Exception:
            b["retie_error"] = traceback.format_exc()[-2000:]
            log(b["retie_error"])
    info["exporter"] = "onnxruntime-genai builder.py @a0c04eb (int4, accuracy_level 4) + re-tied LM head (see make_fixtures.py gemma_build)"
    cj = json.load(open(os.path.join(fx, "config.json")))
    cj["transformers.js_config"] = {"use_external_data_format": True}
    json.dump(cj, open(os.path.join(fx, "config.json"), "w"), indent=2)
    record(fx, info)


def retie(m, b):
    from onnx import helper, numpy_helper
    g = m.graph
    inits = {t.name: t for t in g.initializer}
    gather = next(n for n in g.node if n.op_type == "Gather" and n.input[0] in inits and (n.input[1] == "input_ids" or "embed_tokens" in n.name))
    head = next(n for n in reversed(list(g.node)) if n.op_type in ("MatMul", "MatMulNBits") and "lm_head" in n.name)
    emb = inits[gather.input[0]]
    b["embedding"] = f"{gather.name} {emb.name} dtype {emb.data_type}"
    b["replaced_head"] = f"{head.op_type} {head.name} inputs {list(head.input)}"
    t_out = "lm_head.transposed_embedding"
    tnode = helper.make_node("Transpose", [emb.name], [t_out], name="/lm_head/Transpose", perm=[1, 0])
    mm = helper.make_node("MatMul", [head.input[0], t_out], list(head.output), name="/lm_head/MatMul")
    idx = list(g.node).index(head)
    old_inputs = list(head.input[1:])
    g.node.remove(head)
    g.node.insert(idx, mm)
    g.node.insert(idx, tnode)
    used = {i for n in g.node for i in n.input}
    for nm in old_inputs:
        if nm and nm not in used and nm in inits:
            g.initializer.remove(inits[nm])


def main():
    log("torch", torch.__version__, "onnx", onnx.__version__)
    import transformers, onnxruntime
    log("transformers", transformers.__version__, "onnxruntime", onnxruntime.__version__)
    steps = [(f"tjs-{a}", (lambda a=a: tjs_layout(a))) for a in ARCHES]
    steps += [("chunks-qwen2", chunked), ("genai-qwen2", genai_layout), ("gemma-build-gemma3", gemma_build)]
    only = os.environ.get("ONLY")  # a retry of some steps, e.g. ONLY=gemma-build-gemma3
    if only:
        steps = [s for s in steps if s[0] in only.split(",")]
    for name, fn in steps:
        log(f"===== {name}")
        try:
            fn()
        except Exception:
            tb = traceback.format_exc()
            log(f"{name} FAILED\n{tb}")
            SUMMARY[name] = {"failed": tb[-3000:]}
    shutil.rmtree(os.path.join(OUT, "_work"), ignore_errors=True)
    with open(os.path.join(OUT, "summary.json"), "w") as f:
        json.dump(SUMMARY, f, indent=1)


if __name__ == "__main__":
    main()
