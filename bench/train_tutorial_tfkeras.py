"""The tutorial (shared/reference/densenet-tutorial.md) as written, in tf-keras 2.21, on Fashion-MNIST
(or any folder of the four gzip-compressed MNIST-named files): the reference `densenet-io train` is
compared with in docs/training.md. Not a test; needs the venv of Fixtures/README.md.

    python bench/train_tutorial_tfkeras.py [--data DIR] [--epochs 10] [--seed S]
"""
import argparse
import os
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
import tensorflow as tf
import tf_keras

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "Fixtures", "keras"))
import idx  # noqa: E402
import tutorial_model  # noqa: E402


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--data", default=idx.FASHION_MNIST)
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--seed", type=int)
    args = parser.parse_args()
    if args.seed is not None:
        tf_keras.utils.set_random_seed(args.seed)
    x_train, y_train = idx.load("train", args.data)
    x_test, y_test = idx.load("test", args.data)
    train_ds = tf.data.Dataset.from_tensor_slices((x_train, y_train)).shuffle(10000).batch(32)
    test_ds = tf.data.Dataset.from_tensor_slices((x_test, y_test)).batch(32)

    model = tutorial_model.build(tf_keras)
    loss_object = tf_keras.losses.SparseCategoricalCrossentropy()
    optimizer = tf_keras.optimizers.Adam()
    train_loss, test_loss = tf_keras.metrics.Mean(), tf_keras.metrics.Mean()
    train_accuracy = tf_keras.metrics.SparseCategoricalAccuracy()
    test_accuracy = tf_keras.metrics.SparseCategoricalAccuracy()

    @tf.function
    def train_step(images, labels):
        with tf.GradientTape() as tape:
            predictions = model(images, training=True)
            loss = loss_object(labels, predictions)
        optimizer.apply_gradients(zip(tape.gradient(loss, model.trainable_variables), model.trainable_variables))
        train_loss(loss)
        train_accuracy(labels, predictions)

    @tf.function
    def test_step(images, labels):
        predictions = model(images, training=False)
        test_loss(loss_object(labels, predictions))
        test_accuracy(labels, predictions)

    for epoch in range(args.epochs):
        for images, labels in train_ds:
            train_step(images, labels)
        for images, labels in test_ds:
            test_step(images, labels)
        print(f"Epoch {epoch + 1}, Loss: {train_loss.result()}, Accuracy: {train_accuracy.result() * 100}, "
              f"Test Loss: {test_loss.result()}, Test Accuracy: {test_accuracy.result() * 100}", flush=True)
        for metric in (train_loss, train_accuracy, test_loss, test_accuracy):
            metric.reset_states()


if __name__ == "__main__":
    main()
