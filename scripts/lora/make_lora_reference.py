"""PEFT LoRA reference for steerlab (issue 10).

For each tiny reference model (qwen2, gemma2: copies of ../shared/reference/<arch>/ config.json + model.safetensors,
with that folder's reference.safetensors inputs) and each adapter case below, this
  1. wraps the HF model with PEFT LoRA (LoraConfig r, lora_alpha, target_modules, layers_to_transform),
  2. records PEFT's own fresh initialisation (A kaiming-uniform, B = 0) as init.safetensors,
  3. overwrites every lora_A / lora_B with fixed seeded non-zero values (float32), saves the adapter with
     PEFT's save_pretrained (adapter_model.safetensors + adapter_config.json: the import/export fixture),
  4. in float64, computes
       ce    = mean over label positions t (loss_mask[b,t] = 1, t >= 1) of -log p_lora(ids[b,t] | < t)
       kl    = mean over attention_mask = 1 positions of KL(p_chat || p_lora), p_chat = adapters disabled
       total = ce + lambda_kl * kl   (lambda_kl from reference.json, 3.0)
     and d/d(every lora_A.weight, lora_B.weight) of each, by autograd; writes reference.safetensors (grads named
     grad_ce/<peft tensor name> etc., plus logits_chat / logits_lora) and reference.json.
Conventions are those of ../shared/reference/make_reference.py. PEFT's layout: lora_A.weight [r, in],
lora_B.weight [out, r], y = W x + (lora_alpha / r) * B (A x).

Usage: python3 make_lora_reference.py HERE OUTDIR
"""
import json, math, os, sys, traceback

import torch
from safetensors.torch import load_file, save_file

torch.backends.cuda.matmul.allow_tf32 = False
torch.backends.cudnn.allow_tf32 = False

ALL = ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"]
# name: (r, lora_alpha, target_modules, layers_to_transform or None, seed)
CASES = {
    # the brief's case: rank 2 on two module kinds (non-square v_proj 64->32 with a bias in qwen2; down_proj 128->64)
    "two": (2, 5.0, ["v_proj", "down_proj"], [1, 2], 11),
    # every linear module of every layer: checks each module's name and shape
    "all": (2, 4.0, ALL, None, 12),
    # the paper's narrow setup shape: rank 1 down_proj at one layer
    "r1down": (1, 1.0, ["down_proj"], [1], 13),
}
ARCHS = ["qwen2", "gemma2"]


def ce_loss(logits, ids, lm):
    lp = torch.log_softmax(logits[:, :-1].double(), -1)
    tgt = ids[:, 1:]
    nll = -lp.gather(-1, tgt.unsqueeze(-1)).squeeze(-1)
    mask = lm[:, 1:].double()
    return (nll * mask).sum() / mask.sum()


def kl_loss(chat_logits, steer_logits, am):
    lp_c = torch.log_softmax(chat_logits.double(), -1)
    lp_s = torch.log_softmax(steer_logits.double(), -1)
    kl = (lp_c.exp() * (lp_c - lp_s)).sum(-1)
    mask = am.double()
    return (kl * mask).sum() / mask.sum()


def load_base(folder):
    import transformers as T
    try:
        m = T.AutoModelForCausalLM.from_pretrained(folder, attn_implementation="eager", dtype=torch.float32)
    except TypeError:
        m = T.AutoModelForCausalLM.from_pretrained(folder, attn_implementation="eager", torch_dtype=torch.float32)
    return m.eval().float()


def lora_params(pm):
    """(peft save name, parameter) for every LoRA factor, in a stable order."""
    out = []
    for n, p in pm.named_parameters():
        if ".lora_A." in n or ".lora_B." in n:
            # PEFT's saved names drop the adapter name: ...q_proj.lora_A.default.weight -> ...q_proj.lora_A.weight
            out.append((n.replace(".default.", "."), p))
    out.sort(key=lambda t: t[0])
    return out


def one_case(arch, here, outdir, case, log):
    from peft import LoraConfig, get_peft_model
    import peft
    r, alpha, targets, layers, seed = CASES[case]
    src = os.path.join(here, arch)
    ref = load_file(os.path.join(src, "reference.safetensors"))
    meta0 = json.load(open(os.path.join(src, "reference.json")))
    lam = float(meta0["lambda_kl"])
    ids = ref["input_ids"].long()
    am = ref["attention_mask"].long()
    lm = ref["loss_mask"].long()

    torch.manual_seed(1000 + seed)
    base = load_base(src)
    kw = dict(r=r, lora_alpha=alpha, target_modules=targets, lora_dropout=0.0, bias="none")
    if layers is not None:
        kw["layers_to_transform"] = layers
    cfg = LoraConfig(**kw)
    pm = get_peft_model(base, cfg)
    params = lora_params(pm)
    d = os.path.join(outdir, arch, case)
    os.makedirs(d, exist_ok=True)

    # PEFT's own init: A kaiming-uniform(a=sqrt(5)) -> U(-1/sqrt(in), 1/sqrt(in)), B = 0
    init = {n: p.detach().float().clone().contiguous() for n, p in params}
    save_file(init, os.path.join(d, "init.safetensors"))
    init_stats = {}
    for n, p in params:
        if ".lora_A." in n:
            fan_in = p.shape[1]
            init_stats[n] = {"in": fan_in, "max_abs": p.abs().max().item(), "std": p.float().std().item(),
                             "bound_1_over_sqrt_in": 1.0 / math.sqrt(fan_in)}
        else:
            init_stats[n] = {"all_zero": bool((p == 0).all().item())}

    # fixed non-zero factors, float32 values (what the saved file holds)
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for n, p in params:
            p.copy_((torch.randn(p.shape, generator=g) * 0.25).float())
    pm.save_pretrained(os.path.join(d, "adapter"))
    log(f"{arch}/{case}: saved adapter files {sorted(os.listdir(os.path.join(d, 'adapter')))}")

    # everything in float64 for the reference numbers
    pm = pm.double()
    params = lora_params(pm)
    with torch.no_grad():
        with pm.disable_adapter():
            chat = pm(input_ids=ids, attention_mask=am, use_cache=False).logits
    out = pm(input_ids=ids, attention_mask=am, use_cache=False).logits
    ce = ce_loss(out, ids, lm)
    kl = kl_loss(chat, out, am)
    total = ce + lam * kl
    ps = [p for _, p in params]
    g_ce = torch.autograd.grad(ce, ps, retain_graph=True)
    g_kl = torch.autograd.grad(kl, ps, retain_graph=True)
    g_tot = torch.autograd.grad(total, ps)
    ce_chat = ce_loss(chat, ids, lm)
    tensors = {"logits_chat": chat.float().contiguous(), "logits_lora": out.detach().float().contiguous()}
    for (n, _), a, b_, c in zip(params, g_ce, g_kl, g_tot):
        tensors[f"grad_ce/{n}"] = a.float().contiguous()
        tensors[f"grad_kl/{n}"] = b_.float().contiguous()
        tensors[f"grad_total/{n}"] = c.float().contiguous()
    save_file(tensors, os.path.join(d, "reference.safetensors"))
    meta = {"arch": arch, "case": case, "r": r, "lora_alpha": alpha, "scale": alpha / r, "target_modules": targets,
            "layers_to_transform": layers, "lambda_kl": lam, "ce_chat": ce_chat.item(), "ce": ce.item(),
            "kl": kl.item(), "total": total.item(), "tensors": [n for n, _ in params],
            "shapes": {n: list(p.shape) for n, p in params}, "init": init_stats,
            "precision": "float64 model and losses; factors are the float32 values of adapter/adapter_model.safetensors",
            "conventions": __doc__, "torch": torch.__version__, "peft": peft.__version__}
    try:
        import transformers
        meta["transformers"] = transformers.__version__
    except Exception:
        pass
    json.dump(meta, open(os.path.join(d, "reference.json"), "w"), indent=1)
    log(f"{arch}/{case}: ce_chat {ce_chat.item():.6f} ce {ce.item():.6f} kl {kl.item():.6f} total {total.item():.6f} "
        f"|g_total| {math.sqrt(sum((x.double() ** 2).sum().item() for x in g_tot)):.4g}")

    # round trip: PEFT loads the adapter it saved into a fresh base and gives the same logits
    from peft import PeftModel
    base2 = load_base(src)
    pm2 = PeftModel.from_pretrained(base2, os.path.join(d, "adapter")).double()
    with torch.no_grad():
        out2 = pm2(input_ids=ids, attention_mask=am, use_cache=False).logits
    err = (out2 - out.detach()).abs().max().item()
    log(f"{arch}/{case}: PeftModel.from_pretrained round trip max |dlogits| {err:.3g}")
    meta["peft_reload_max_abs_logits"] = err
    json.dump(meta, open(os.path.join(d, "reference.json"), "w"), indent=1)


def check_ours(here, outdir, log):
    """If ours/ holds adapters written by steerlab's exporter (a later batch), PEFT loads each one."""
    ours = os.path.join(here, "ours")
    if not os.path.isdir(ours):
        return
    from peft import PeftModel
    res = {}
    for name in sorted(os.listdir(ours)):
        p = os.path.join(ours, name)
        try:
            info = json.load(open(os.path.join(p, "info.json")))
            base = load_base(os.path.join(here, info["arch"]))
            pm = PeftModel.from_pretrained(base, p)
            loaded = {k.replace(".default.", "."): v for k, v in lora_params(pm)}
            n = len(loaded)
            # PEFT only warns about keys it cannot place: check every tensor of our file landed in the model
            filet = load_file(os.path.join(p, "adapter_model.safetensors"))
            missing = [k for k in filet if k not in loaded]
            unfilled = [k for k in loaded if k not in filet]
            diff = max([(loaded[k].detach().float() - filet[k].float()).abs().max().item() for k in filet if k in loaded] or [float("nan")])
            ids = torch.tensor(info["input_ids"]).long()
            with torch.no_grad():
                lo = pm(input_ids=ids, attention_mask=torch.ones_like(ids), use_cache=False).logits
            res[name] = {"ok": not missing and not unfilled, "lora_params": n, "file_tensors_not_in_model": missing,
                         "model_lora_params_not_in_file": unfilled, "max_abs_param_diff": diff,
                         "logits_shape": list(lo.shape), "logits": lo.float().flatten().tolist()}
            log(f"ours/{name}: PEFT loaded, {n} lora params, {len(missing)} file tensors unused, "
                f"{len(unfilled)} params not in file, max |param diff| {diff:.3g}")
        except Exception as e:
            res[name] = {"ok": False, "error": repr(e)[:800]}
            log(f"ours/{name}: FAILED {e!r}")
    os.makedirs(outdir, exist_ok=True)
    json.dump(res, open(os.path.join(outdir, "ours_loaded.json"), "w"), indent=1)


def main(here, outdir):
    os.makedirs(outdir, exist_ok=True)
    logs = []

    def log(s):
        print(s, flush=True)
        logs.append(s)

    failed = 0
    for arch in ARCHS:
        for case in CASES:
            try:
                one_case(arch, here, outdir, case, log)
            except Exception:
                failed += 1
                log(f"{arch}/{case} FAILED:\n{traceback.format_exc()}")
    try:
        check_ours(here, outdir, log)
    except Exception:
        log(f"check_ours FAILED:\n{traceback.format_exc()}")
    open(os.path.join(outdir, "summary.txt"), "w").write("\n".join(logs) + "\n")
    return failed


if __name__ == "__main__":
    sys.exit(1 if main(sys.argv[1], sys.argv[2]) else 0)
