// SGD, Keras 3.15 / tf-keras 2.21 update rule.

/// `keras.optimizers.SGD(learning_rate=0.01, momentum=0.0, nesterov=False)`.
public struct SGDConfig: Equatable, Sendable {
    /// The step size (Keras' `learning_rate`).
    public var learningRate: Double
    /// The momentum factor; 0 is plain gradient descent, with no slot.
    public var momentum: Double
    /// Whether the momentum is Nesterov's (looking ahead by one momentum step).
    public var nesterov: Bool
    /// SGD with Keras' arguments and defaults.
    public init(learningRate: Double = 0.01, momentum: Double = 0, nesterov: Bool = false) {
        self.learningRate = learningRate
        self.momentum = momentum
        self.nesterov = nesterov
    }

    /// Keras 3 keeps `momentum` only when momentum != 0. (tf-keras 2.21 always creates it, as `m`,
    /// and with momentum 0 it then holds -lr·g of the last step; the weights are the same.)
    var slotNames: [String] { momentum != 0 ? ["momentum"] : [] }

    /// With momentum: m = m·momentum - g·lr; var += nesterov ? m·momentum - g·lr : m.
    /// Without: var -= g·lr. (tf-keras writes -g·lr + m·momentum: the same float32 values.)
    func rule() -> UpdateRule {
        let lr = Float(learningRate), momentum = Float(self.momentum), nesterov = self.nesterov
        guard self.momentum != 0 else {
            return { w, g, _, range in for e in range { w[e] -= g[e] * lr } }
        }
        return { w, g, slots, range in
            let m = slots[0]
            for e in range {
                let step = g[e] * lr
                m[e] = m[e] * momentum - step
                w[e] += nesterov ? m[e] * momentum - step : m[e]
            }
        }
    }
}
