"""The tutorial DenseNet (shared/reference/densenet-tutorial.md) as a function of the Keras module.

`build(keras)` works with `tf_keras` (tf-keras 2.21) and `keras` (Keras 3.15); construction order
and attribute names follow the tutorial, since Keras derives every saved name from them.
"""


def build(keras):
    layers = keras.layers

    class DenseUnit(keras.Model):
        def __init__(self, filter_out, kernel_size):
            super().__init__()
            self.bn = layers.BatchNormalization()
            self.conv = layers.Conv2D(filter_out, kernel_size, padding="same")
            self.concat = layers.Concatenate()

        def call(self, x, training=False, mask=None):
            h = self.bn(x, training=training)
            h = keras.activations.relu(h)
            h = self.conv(h)
            return self.concat([x, h])

    class DenseLayer(keras.Model):
        def __init__(self, num_unit, growth_rate, kernel_size):
            super().__init__()
            self.sequence = [DenseUnit(growth_rate, kernel_size) for _ in range(num_unit)]

        def call(self, x, training=False, mask=None):
            for unit in self.sequence:
                x = unit(x, training=training)
            return x

    class TransitionLayer(keras.Model):
        def __init__(self, filters, kernel_size):
            super().__init__()
            self.conv = layers.Conv2D(filters, kernel_size, padding="same")
            self.pool = layers.MaxPool2D()

        def call(self, x, training=False, mask=None):
            return self.pool(self.conv(x))

    class DenseNet(keras.Model):
        def __init__(self):
            super().__init__()
            self.conv1 = layers.Conv2D(8, (3, 3), padding="same", activation="relu")
            self.dl1 = DenseLayer(2, 4, (3, 3))
            self.tr1 = TransitionLayer(16, (3, 3))
            self.dl2 = DenseLayer(2, 8, (3, 3))
            self.tr2 = TransitionLayer(32, (3, 3))
            self.dl3 = DenseLayer(2, 16, (3, 3))
            self.flatten = layers.Flatten()
            self.dense1 = layers.Dense(128, activation="relu")
            self.dense2 = layers.Dense(10, activation="softmax")

        def call(self, x, training=False, mask=None):
            x = self.conv1(x)
            x = self.tr1(self.dl1(x, training=training))
            x = self.tr2(self.dl2(x, training=training))
            x = self.dl3(x, training=training)
            return self.dense2(self.dense1(self.flatten(x)))

    return DenseNet()
