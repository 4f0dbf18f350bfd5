"""An independent count: TensorFlow's own op-level profiler against ours.

``tf.compat.v1.profiler`` counts floating-point operations per TensorFlow op type on a
frozen graph. For convolutions (``Conv2D``, ``DepthwiseConv2dNative``) and the dense
layer (``MatMul``) it counts a multiply and an add apart, so it must report exactly
2 x our MACs for those op types.

Grouped convolutions are left out here: Keras's TensorFlow backend runs a ``Conv2D`` with
``groups > 1`` as a call to an XLA-compiled function, which the frozen graph keeps as a
``StatefulPartitionedCall`` that TensorFlow's profiler does not enter (it would report
those convolutions as free). ShuffleNet is therefore cross-checked at g = 1 here, and its
grouped costs against the paper's unit formulas in ``test_blocks.py``.

Everything else TensorFlow counts is what our convention leaves out of MACs: BatchNorm
(not folded in this graph: ``Mul``, ``AddV2``, ``Rsqrt``, ``Sub``), bias adds
(``BiasAdd``), residual adds, pooling (``Mean``, ``AvgPool``) and ``Softmax``; ReLU and
max-pooling it does not count at all. For these networks that remainder is a small
fraction of the total: asserted below 3 %.
"""

import pytest

from mobilecourse import models
from mobilecourse.crosscheck import tf_float_operations
from mobilecourse.profile import profile_model

KERNEL_OPS = ("Conv2D", "DepthwiseConv2dNative", "MatMul")


def tf_float_ops_by_type(model) -> dict[str, int]:
    count = tf_float_operations(model)
    assert sum(count.flops_by_op.values()) == count.flops
    return count.flops_by_op


@pytest.mark.parametrize(
    "build",
    [
        lambda: models.mobilenet_v1(width=0.5, input_shape=(128, 128, 3)),
        models.squeezenet,
        lambda: models.shufflenet(groups=1),
        models.mobilenet_v2,
    ],
    ids=["mobilenet_v1_0.5_128", "squeezenet", "shufflenet_g1", "mobilenet_v2"],
)
def test_tensorflow_counts_twice_our_macs_for_kernels(build):
    model = build()
    ours = profile_model(model)
    theirs = tf_float_ops_by_type(model)
    kernel_flops = sum(theirs.get(op, 0) for op in KERNEL_OPS)
    assert kernel_flops == 2 * ours.macs
    other = sum(theirs.values()) - kernel_flops
    assert 0 < other < 0.03 * sum(theirs.values())
    assert theirs.get("BiasAdd", 0) == sum(
        r.bias * (r.activations // r.output_shape[-1]) for r in ours.rows if r.bias
    )
