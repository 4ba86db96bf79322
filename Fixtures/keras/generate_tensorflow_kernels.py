"""TensorFlow 2.21's own CPU kernels on inputs both sides can rebuild: what the engine's
BatchNormalization and bias gradients must reproduce bit for bit (their float32 summation order).

Run from the repository root with the venv of Fixtures/README.md:
    python Fixtures/keras/generate_tensorflow_kernels.py
Writes Fixtures/keras/tensorflow_kernels.h5: per case a group with the input shape, FusedBatchNormV3
in training mode (epsilon, momentum 0.99 as tf-keras passes it) and FusedBatchNormGradV3 on
x[i] = (i·7919 mod 1000)/250 + 1 and dy[i] = (i·104729 mod 2001 − 1000)/500, and BiasAddGrad of dy.
Large outputs are stored as a checksum of their float32 bit patterns (sum of the uint32 views
mod 2^32) plus their first 64 values.
"""
import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
import h5py
import numpy as np
import tensorflow as tf

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "tensorflow_kernels.h5")
# Shapes that exercise each rule: whole 8-float packets and leftover channels, fewer than 16 rows,
# row counts not divisible by 4, gradient sums split in two halves (≤ 64 channels, large) or not.
CASES = {
    "packets_and_leftovers": ((4, 7, 7, 12), 1e-3),
    "few_rows": ((1, 3, 5, 20), 1e-3),
    "odd_rows": ((3, 5, 7, 8), 1.001e-5),
    "split_halves": ((5, 20, 20, 64), 1.001e-5),
    "wide": ((2, 14, 14, 72), 1.001e-5),
    "tutorial_stem": ((8, 28, 28, 8), 1e-3),
}


def inputs(shape):
    i = np.arange(int(np.prod(shape)), dtype=np.int64)
    x = np.float32((i * 7919) % 1000) / np.float32(250) + np.float32(1)
    dy = np.float32((i * 104729) % 2001 - 1000) / np.float32(500)
    return x.astype(np.float32).reshape(shape), dy.astype(np.float32).reshape(shape)


def checksum(a):
    return np.uint32(np.sum(np.ascontiguousarray(a, dtype=np.float32).view(np.uint32).astype(np.uint64)) % (1 << 32))


def main():
    with h5py.File(OUT, "w") as h5:
        for name, (shape, epsilon) in CASES.items():
            c = shape[-1]
            x, dy = inputs(shape)
            gamma = (np.arange(c, dtype=np.float32) / np.float32(c) + np.float32(0.5)).astype(np.float32)
            beta = (np.arange(c, dtype=np.float32) / np.float32(-2 * c)).astype(np.float32)
            moving_mean = np.full(c, 0.25, np.float32)
            moving_variance = np.full(c, 1.5, np.float32)
            y, mean, variance, r1, r2, r3 = tf.raw_ops.FusedBatchNormV3(
                x=x, scale=gamma, offset=beta, mean=moving_mean, variance=moving_variance, epsilon=epsilon,
                exponential_avg_factor=1.0 - 0.99, is_training=True, data_format="NHWC")
            dx, dgamma, dbeta, _, _ = tf.raw_ops.FusedBatchNormGradV3(
                y_backprop=dy, x=x, scale=gamma, reserve_space_1=r1, reserve_space_2=r2, reserve_space_3=r3,
                epsilon=epsilon, data_format="NHWC", is_training=True)
            bias_grad = tf.raw_ops.BiasAddGrad(out_backprop=dy, data_format="NHWC")
            g = h5.create_group(name)
            g["shape"] = np.array(shape, np.int64)
            g["epsilon"] = np.float32(epsilon)
            g["gamma"], g["beta"] = gamma, beta
            g["moving_mean_before"], g["moving_variance_before"] = moving_mean, moving_variance
            g["batch_mean"], g["batch_variance"] = r1.numpy(), r2.numpy()
            g["moving_mean"], g["moving_variance"] = mean.numpy(), variance.numpy()
            g["rsqrt"] = tf.math.rsqrt(r2 + np.float32(epsilon)).numpy()
            for key, value in (("y", y.numpy()), ("dx", dx.numpy())):
                g[f"{key}_checksum"] = checksum(value)
                g[f"{key}_head"] = value.reshape(-1)[:64]
            g["dgamma"], g["dbeta"], g["bias_grad"] = dgamma.numpy(), dbeta.numpy(), bias_grad.numpy()


if __name__ == "__main__":
    main()
