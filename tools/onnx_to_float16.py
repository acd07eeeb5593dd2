#!/usr/bin/python3
"""Convert a float32 ONNX model to float16 the way the usual converter does.

What onnxconverter-common's `float16.convert_float_to_float16(model, keep_io_types=True)`
writes (that package is not in Debian): every float32 initializer and float Constant becomes
float16, the graph keeps its float32 input and output, with a Cast to FLOAT16 after the input
(`graph_input_cast_0`) and a Cast to FLOAT before the output (`graph_output_cast_0`).

Usage (Debian's python3-onnx; run once, the file is committed):
  /usr/bin/python3 tools/onnx_to_float16.py tests/fixtures/small-cnn.onnx \
      tests/fixtures/small-cnn-f16.onnx
"""
import sys

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper


def to_float16(tensor):
    if tensor.data_type != TensorProto.FLOAT:
        return tensor
    converted = numpy_helper.from_array(numpy_helper.to_array(tensor).astype(np.float16),
                                        tensor.name)
    return converted


def main():
    source, out = sys.argv[1:3]
    model = onnx.load(source)
    graph = model.graph
    for i, init in enumerate(graph.initializer):
        graph.initializer[i].CopyFrom(to_float16(init))
    for node in graph.node:
        for attribute in node.attribute:
            if attribute.type == onnx.AttributeProto.TENSOR:
                attribute.t.CopyFrom(to_float16(attribute.t))
    (inp,), (outp,) = graph.input, graph.output
    first, last = "graph_input_cast_0", "graph_output_cast_0"
    for node in graph.node:
        node.input[:] = [first if name == inp.name else name for name in node.input]
        node.output[:] = [last if name == outp.name else name for name in node.output]
    graph.node.insert(0, helper.make_node("Cast", [inp.name], [first], name=first,
                                          to=TensorProto.FLOAT16))
    graph.node.append(helper.make_node("Cast", [last], [outp.name], name=last + "_node",
                                       to=TensorProto.FLOAT))
    del graph.value_info[:]
    onnx.checker.check_model(model)
    onnx.save(model, out)


if __name__ == "__main__":
    main()
