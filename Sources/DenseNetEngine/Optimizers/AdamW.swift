// AdamW, Keras 3.15 / tf-keras 2.21: Adam with decoupled weight decay.

/// `keras.optimizers.AdamW(learning_rate=0.001, weight_decay=0.004, beta_1=0.9, beta_2=0.999, epsilon=1e-7)`.
/// Keras decays every trainable variable (nothing is excluded by default), before the Adam update of
/// the same step: var -= var·wd·lr, in float32 as written (var·wd first).
public struct AdamWConfig: Equatable, Sendable {
    /// The Adam part: learning rate, betas and epsilon.
    public var adam: AdamConfig
    /// The decay rate per step, multiplied by the learning rate (Keras' `weight_decay`).
    public var weightDecay: Double
    /// AdamW with Keras' arguments and defaults.
    public init(
        learningRate: Double = 0.001, weightDecay: Double = 0.004, beta1: Double = 0.9, beta2: Double = 0.999,
        epsilon: Double = 1e-7
    ) {
        adam = AdamConfig(learningRate: learningRate, beta1: beta1, beta2: beta2, epsilon: epsilon)
        self.weightDecay = weightDecay
    }
}
