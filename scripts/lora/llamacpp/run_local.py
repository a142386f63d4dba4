# Runs llama.cpp's convert_lora_to_gguf.py under Debian's torch 1.13, which predates dtypes that
# convert_hf_to_gguf.py names in a lookup table (never met by f32 adapters): each missing one becomes a distinct
# sentinel, so the table keeps its real entries.
import runpy, sys, torch
for n in ("float8_e4m3fn", "float8_e5m2", "uint16", "uint32", "uint64"):
    if not hasattr(torch, n):
        setattr(torch, n, type(n, (), {})())
sys.argv = ["convert_lora_to_gguf.py", *sys.argv[1:]]
sys.path.insert(0, ".")  # run from the llama.cpp checkout: the converter imports convert_hf_to_gguf beside it
runpy.run_path("convert_lora_to_gguf.py", run_name="__main__")
