// Adam, Keras 3.15 / tf-keras 2.21 update rule, float32 arithmetic like TF.

/// `keras.optimizers.Adam(learning_rate=0.001, beta_1=0.9, beta_2=0.999, epsilon=1e-7)` (amsgrad is not supported).
public struct AdamConfig: Equatable, Sendable {
    /// The step size (Keras' `learning_rate`).
    public var learningRate: Double = 0.001
    /// The first moment's decay rate (Keras' `beta_1`).
    public var beta1: Double = 0.9
    /// The second moment's decay rate (Keras' `beta_2`).
    public var beta2: Double = 0.999
    /// Added to the second moment's square root so the update never divides by zero (Keras' `epsilon`; the
    /// Adam paper's 1e-8 is not Keras' default).
    public var epsilon: Double = 1e-7
    /// Adam with Keras' arguments and defaults.
    public init(learningRate: Double = 0.001, beta1: Double = 0.9, beta2: Double = 0.999, epsilon: Double = 1e-7) {
        self.learningRate = learningRate
        self.beta1 = beta1
        self.beta2 = beta2
        self.epsilon = epsilon
    }

    /// Keras 3's names; tf-keras calls them `m` and `v`.
    static let slotNames = ["momentum", "velocity"]

    /// With AdamW's `weightDecay` first var -= var·wd·lr, then:
    /// t = iterations+1; alpha = lr·sqrt(1-b2^t)/(1-b1^t); m += (g-m)(1-b1); v += (g²-v)(1-b2);
    /// var -= m·alpha/(sqrt(v)+eps).
    func rule(iterations: Int64, weightDecay: Double?) -> UpdateRule {
        let t = Float(iterations + 1)
        let lr = Float(learningRate)
        let b1p = powf(Float(beta1), t), b2p = powf(Float(beta2), t)
        let alpha = lr * (1 - b2p).squareRoot() / (1 - b1p)
        let c1 = Float(1.0 - beta1), c2 = Float(1.0 - beta2), eps = Float(epsilon)
        let decay = weightDecay.map { Float($0) }
        return { w, g, slots, range in
            let m = slots[0], v = slots[1]
            for e in range {
                if let decay { w[e] -= w[e] * decay * lr }
                let ge = g[e]
                m[e] += (ge - m[e]) * c1
                v[e] += (ge * ge - v[e]) * c2
                w[e] -= (m[e] * alpha) / (v[e].squareRoot() + eps)
            }
        }
    }
}

#if canImport(Glibc)
    import Glibc
#endif
