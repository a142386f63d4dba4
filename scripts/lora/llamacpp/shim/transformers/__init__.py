# Local stand-in: llama.cpp's converters import these names at the top; with --base DIR the LoRA conversion
# never calls them (they load configs/tokenizers from the Hub). Calling one here is an error, not a silent default.
class _Absent:
    @classmethod
    def from_pretrained(cls, *a, **k):
        raise RuntimeError("transformers is not installed here; pass --base DIR")
class AutoConfig(_Absent): pass
class AutoTokenizer(_Absent): pass
