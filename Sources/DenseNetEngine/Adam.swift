// Adam, tf-keras 2.21 / Keras 3 update rule, float32 arithmetic like TF.

import Glibc

public struct AdamConfig: Equatable, Sendable {
    public var learningRate: Double = 0.001
    public var beta1: Double = 0.9
    public var beta2: Double = 0.999
    public var epsilon: Double = 1e-7
    public init(learningRate: Double = 0.001, beta1: Double = 0.9, beta2: Double = 0.999, epsilon: Double = 1e-7) {
        self.learningRate = learningRate
        self.beta1 = beta1
        self.beta2 = beta2
        self.epsilon = epsilon
    }
}

/// Optimizer state as plain values: iterations and the m ("momentum") and v ("velocity") slots,
/// one array per trainable variable in `trainableVariables` order.
public struct AdamState: Equatable, Sendable {
    public var iterations: Int64
    public var m: [[Float]]
    public var v: [[Float]]
    public init(iterations: Int64, m: [[Float]], v: [[Float]]) {
        self.iterations = iterations
        self.m = m
        self.v = v
    }
}

public final class Adam {
    public var config: AdamConfig
    public private(set) var iterations: Int64 = 0
    public let variables: [Variable]
    let mSlots: [UnsafeMutablePointer<Float>]
    let vSlots: [UnsafeMutablePointer<Float>]
    let parallel: Parallel

    public init(variables: [Variable], config: AdamConfig = AdamConfig(), parallel: Parallel = .automatic()) {
        self.variables = variables
        self.config = config
        self.parallel = parallel
        mSlots = variables.map { v in let p = UnsafeMutablePointer<Float>.allocate(capacity: Swift.max(1, v.count)); p.initialize(repeating: 0, count: Swift.max(1, v.count)); return p }
        vSlots = variables.map { v in let p = UnsafeMutablePointer<Float>.allocate(capacity: Swift.max(1, v.count)); p.initialize(repeating: 0, count: Swift.max(1, v.count)); return p }
    }

    deinit {
        for p in mSlots { p.deallocate() }
        for p in vSlots { p.deallocate() }
    }

    /// Applies one update from each variable's `grad`:
    /// t = iterations+1; alpha = lr*sqrt(1-b2^t)/(1-b1^t); m += (g-m)(1-b1); v += (g^2-v)(1-b2);
    /// var -= m*alpha/(sqrt(v)+eps); iterations += 1.
    public func step() {
        let t = Float(iterations + 1)
        let lr = Float(config.learningRate)
        let b1p = powf(Float(config.beta1), t), b2p = powf(Float(config.beta2), t)
        let alpha = lr * (1 - b2p).squareRoot() / (1 - b1p)
        let c1 = Float(1.0 - config.beta1), c2 = Float(1.0 - config.beta2), eps = Float(config.epsilon)
        for (i, variable) in variables.enumerated() {
            let w = variable.data, g = UnsafePointer(variable.grad), m = mSlots[i], v = vSlots[i]
            parallel.forEachRange(variable.count, minChunk: 32768) { r in
                for e in r {
                    let ge = g[e]
                    m[e] += (ge - m[e]) * c1
                    v[e] += (ge * ge - v[e]) * c2
                    w[e] -= (m[e] * alpha) / (v[e].squareRoot() + eps)
                }
            }
        }
        iterations += 1
    }

    public var state: AdamState {
        AdamState(iterations: iterations,
                  m: variables.indices.map { Array(UnsafeBufferPointer(start: mSlots[$0], count: variables[$0].count)) },
                  v: variables.indices.map { Array(UnsafeBufferPointer(start: vSlots[$0], count: variables[$0].count)) })
    }

    public func setState(_ s: AdamState) throws {
        guard s.iterations >= 0 else { throw EngineError.invalidArgument("negative iterations") }
        guard s.m.count == variables.count, s.v.count == variables.count else {
            throw EngineError.countMismatch(what: "Adam slots", expected: variables.count, got: Swift.min(s.m.count, s.v.count))
        }
        for (i, variable) in variables.enumerated() {
            guard s.m[i].count == variable.count, s.v[i].count == variable.count else {
                throw EngineError.countMismatch(what: "Adam slot for variable \(i) (\(variable.name))", expected: variable.count,
                                                got: s.m[i].count == variable.count ? s.v[i].count : s.m[i].count)
            }
        }
        for i in variables.indices {
            s.m[i].withUnsafeBufferPointer { mSlots[i].update(from: $0.baseAddress!, count: variables[i].count) }
            s.v[i].withUnsafeBufferPointer { vSlots[i].update(from: $0.baseAddress!, count: variables[i].count) }
        }
        iterations = s.iterations
    }
}
