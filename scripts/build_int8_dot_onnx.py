"""How ideas/data/int8_dot.onnx was made (run once; not at install).

One node, onnxruntime's MatMulInteger: an int8 matrix (n x 384, the stored
idea vectors) times an int8 column (the draft's vector) -> int32, exact.
ideas/vector_index.py runs it for the exact search: onnxruntime's int8
kernels (MLAS) take about a third of numpy's int32 einsum over the same
matrix, with no float copy of it.

Usage (in a scratch virtualenv): pip install onnx==1.23.2 &&
python scripts/build_int8_dot_onnx.py ideas/data/int8_dot.onnx
"""

import sys

import onnx
from onnx import TensorProto, helper

DIM = 384


def main(out: str) -> None:
    matrix = helper.make_tensor_value_info("matrix", TensorProto.INT8, ["n", DIM])
    query = helper.make_tensor_value_info("query", TensorProto.INT8, [DIM, 1])
    scores = helper.make_tensor_value_info("scores", TensorProto.INT32, ["n", 1])
    graph = helper.make_graph(
        [helper.make_node("MatMulInteger", ["matrix", "query"], ["scores"])],
        "int8_dot",
        [matrix, query],
        [scores],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    model.ir_version = 8
    model.producer_name = "touchpoint"
    onnx.checker.check_model(model)
    onnx.save(model, out)


if __name__ == "__main__":
    main(sys.argv[1])
