"""Fixtures for issue 11, made with PyTorch (run on the GPU box, CPU is enough):

1. adamw/   torch.optim.AdamW + transformers.get_linear_schedule_with_warmup fed FIXED gradients for 10 steps;
            the parameters and learning rate after every step (adamw_reference.json).
2. <arch>/  for gemma2 and gemma3 (the tiny random models of shared/reference), steering at the OUTPUT of
            layer L's mlp.down_proj (the paper's hook; on Gemma it sits before post_feedforward_layernorm, so it
            differs from adding to the block output): logits, CE, KL, total and their gradients with respect to v,
            in make_reference.py's conventions (reference_down_proj.safetensors + .json).

Usage: python3 issue11_fixtures.py INDIR OUTDIR   (INDIR holds gemma2/ and gemma3/ with config.json,
model.safetensors, reference.safetensors, reference.json copied from shared/reference)
"""
import json, os, sys, traceback
import torch

torch.backends.cuda.matmul.allow_tf32 = False
torch.backends.cudnn.allow_tf32 = False


def adamw_fixture(outdir):
    from transformers import get_linear_schedule_with_warmup
    torch.manual_seed(7)
    D, STEPS = 12, 10
    cases = []
    for name, lr, wd, betas, eps, warmup in [
        ("paper_like", 1e-2, 0.0, (0.9, 0.999), 1e-8, 3),
        ("weight_decay", 5e-2, 0.1, (0.8, 0.99), 1e-6, 2),
        ("no_warmup", 1e-3, 0.01, (0.9, 0.999), 1e-8, 0),
    ]:
        init = (torch.randn(D) * 0.5).float()
        grads = [(torch.randn(D) * (0.1 + 0.3 * s)).float() for s in range(STEPS)]
        p = torch.nn.Parameter(init.clone())
        opt = torch.optim.AdamW([p], lr=lr, betas=betas, eps=eps, weight_decay=wd, foreach=False, fused=False)
        sched = get_linear_schedule_with_warmup(opt, num_warmup_steps=warmup, num_training_steps=STEPS)
        params, lrs = [], []
        for s in range(STEPS):
            lrs.append(opt.param_groups[0]["lr"])
            p.grad = grads[s].clone()
            opt.step()
            sched.step()
            params.append(p.detach().clone().tolist())
        cases.append({"name": name, "lr": lr, "weight_decay": wd, "betas": list(betas), "eps": eps,
                      "warmup": warmup, "total": STEPS, "init": init.tolist(),
                      "grads": [g.tolist() for g in grads], "lr_used": lrs, "params_after": params})
    meta = {"torch": torch.__version__, "note": "params_after[s] = parameters after optimizer step s; lr_used[s] = "
            "the learning rate optimizer step s ran with (scheduler stepped after each optimizer step)",
            "cases": cases}
    import transformers
    meta["transformers"] = transformers.__version__
    os.makedirs(os.path.join(outdir, "adamw"), exist_ok=True)
    json.dump(meta, open(os.path.join(outdir, "adamw", "adamw_reference.json"), "w"), indent=1)
    print("adamw: ok", [c["params_after"][-1][:2] for c in cases])


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


def run(m, ids, am, v=None, module=None):
    hooks = []
    if v is not None:
        def hook(mod, inp, out):
            if isinstance(out, tuple):
                return (out[0] + v,) + tuple(out[1:])
            return out + v
        hooks.append(module.register_forward_hook(hook))
    try:
        return m(input_ids=ids, attention_mask=am, use_cache=False)
    finally:
        for h in hooks:
            h.remove()


def down_proj_fixture(indir, outdir, arch):
    import transformers as T
    from safetensors.torch import load_file, save_file
    src = os.path.join(indir, arch)
    cls = {"gemma2": T.Gemma2ForCausalLM, "gemma3": T.Gemma3ForCausalLM}[arch]
    m = cls.from_pretrained(src, attn_implementation="eager", dtype=torch.float32).eval().float()
    ref = load_file(os.path.join(src, "reference.safetensors"))
    meta_in = json.load(open(os.path.join(src, "reference.json")))
    L, lam = meta_in["steer_layer"], meta_in["lambda_kl"]
    ids = ref["input_ids"].long()
    am = ref["attention_mask"].long()
    lm = ref["loss_mask"].long()
    layer = m.model.layers[L]
    # sanity: the block-output hook reproduces the stored reference (same model, same inputs)
    with torch.no_grad():
        chat = run(m, ids, am).logits
        block = run(m, ids, am, ref["steer_vector"], layer).logits
    chk_chat = (chat - ref["logits_chat"]).abs().max().item()
    chk_block = (block - ref["logits_steered"]).abs().max().item()
    v = ref["steer_vector"].clone().requires_grad_(True)
    st = run(m, ids, am, v, layer.mlp.down_proj).logits
    ce = ce_loss(st, ids, lm)
    g_ce, = torch.autograd.grad(ce, v, retain_graph=True)
    kl = kl_loss(chat, st, am)
    g_kl, = torch.autograd.grad(kl, v, retain_graph=True)
    total = ce + lam * kl
    g_tot, = torch.autograd.grad(total, v)
    diff_vs_block = (st.detach() - block).abs().max().item()
    os.makedirs(os.path.join(outdir, arch), exist_ok=True)
    save_file({"logits_steered_down_proj": st.detach().float().contiguous(), "grad_ce": g_ce.float(),
               "grad_kl": g_kl.float(), "grad_total": g_tot.float()},
              os.path.join(outdir, arch, "reference_down_proj.safetensors"))
    meta = {"arch": arch, "steer_layer": L, "lambda_kl": lam, "hook": f"model.layers.{L}.mlp.down_proj (forward output)",
            "ce_steered": ce.item(), "kl": kl.item(), "total": total.item(),
            "check_logits_chat_max_abs_vs_reference": chk_chat,
            "check_logits_block_hook_max_abs_vs_reference": chk_block,
            "logits_down_proj_vs_block_hook_max_abs": diff_vs_block,
            "torch": torch.__version__, "transformers": T.__version__}
    json.dump(meta, open(os.path.join(outdir, arch, "reference_down_proj.json"), "w"), indent=1)
    print(arch, json.dumps(meta))


def main(indir, outdir):
    os.makedirs(outdir, exist_ok=True)
    failed = False
    for job in [lambda: adamw_fixture(outdir)] + [
            (lambda a: (lambda: down_proj_fixture(indir, outdir, a)))(a) for a in ("gemma2", "gemma3")]:
        try:
            job()
        except Exception:
            failed = True
            traceback.print_exc()
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
