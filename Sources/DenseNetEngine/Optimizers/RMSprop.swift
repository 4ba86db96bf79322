// RMSprop, Keras 3.15 / tf-keras 2.21 update rule.

/// `keras.optimizers.RMSprop(learning_rate=0.001, rho=0.9, momentum=0.0, epsilon=1e-7, centered=False)`.
public struct RMSpropConfig: Equatable, Sendable {
    /// The step size (Keras' `learning_rate`).
    public var learningRate: Double
    /// The decay rate of the squared-gradient average (Keras' `rho`).
    public var rho: Double
    /// The momentum factor; 0 keeps no momentum slot.
    public var momentum: Double
    /// Added to the denominator so the update never divides by zero.
    public var epsilon: Double
    /// Whether the squared-gradient average is centered by the gradient's mean (an extra `average_gradient`
    /// slot).
    public var centered: Bool
    /// RMSprop with Keras' arguments and defaults.
    public init(
        learningRate: Double = 0.001, rho: Double = 0.9, momentum: Double = 0, epsilon: Double = 1e-7,
        centered: Bool = false
    ) {
        self.learningRate = learningRate
        self.rho = rho
        self.momentum = momentum
        self.epsilon = epsilon
        self.centered = centered
    }

    /// `velocity`, then `momentum` if momentum > 0, then `average_gradient` if centered (Keras' order).
    var slotNames: [String] {
        ["velocity"] + (momentum > 0 ? ["momentum"] : []) + (centered ? ["average_gradient"] : [])
    }

    /// velocity = rho·velocity + (1-rho)·g²; centered: average = rho·average + (1-rho)·g and
    /// denominator = velocity - average² + eps, else velocity + eps; increment = lr·g · (1/sqrt(denominator));
    /// with momentum: momentum = momentum·m + increment, var -= momentum; else var -= increment.
    /// Keras 3 writes lr·g / sqrt(denominator) and tf-keras lr·g·rsqrt(denominator); TensorFlow gives
    /// both the bits of a multiplication by the correctly rounded 1/sqrt (the rule fixtures: Keras 3
    /// bit for bit without centering; tf-keras' XLA-compiled step 1 ulp off on a few elements).
    func rule() -> UpdateRule {
        let lr = Float(learningRate), rho = Float(self.rho), oneMinusRho = Float(1 - self.rho)
        let epsilon = Float(self.epsilon), momentum = Float(self.momentum)
        let hasMomentum = self.momentum > 0, centered = self.centered
        return { w, g, slots, range in
            let velocity = slots[0]
            let average = centered ? slots[hasMomentum ? 2 : 1] : nil
            let accumulated = hasMomentum ? slots[1] : nil
            for e in range {
                let ge = g[e]
                velocity[e] = rho * velocity[e] + oneMinusRho * (ge * ge)
                let denominator: Float
                if let average {
                    average[e] = rho * average[e] + oneMinusRho * ge
                    denominator = velocity[e] - average[e] * average[e] + epsilon
                } else {
                    denominator = velocity[e] + epsilon
                }
                let increment = lr * ge * (1 / denominator.squareRoot())
                if let accumulated {
                    accumulated[e] = momentum * accumulated[e] + increment
                    w[e] -= accumulated[e]
                } else {
                    w[e] -= increment
                }
            }
        }
    }
}
