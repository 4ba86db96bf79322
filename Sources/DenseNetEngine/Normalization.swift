// BatchNormalization over the last axis (NHWC channels), tf-keras semantics.

/// Which batch variance feeds the moving_variance update.
public enum MovingVarianceUpdate: String, Sendable {
    /// tf-keras' fused kernel: unbiased batch variance (times n/(n-1), n = N*H*W).
    case besselCorrected
    /// Keras 3: the biased batch variance used for normalisation.
    case biased
}

public final class BatchNormalization: Layer, Op {
    public let kerasClassName = "BatchNormalization"
    public let name: String?
    public let momentum: Float
    public let epsilon: Float
    public let movingVarianceUpdate: MovingVarianceUpdate
    public private(set) var gamma: Variable?
    public private(set) var beta: Variable?
    public private(set) var movingMean: Variable?
    public private(set) var movingVariance: Variable?

    public init(momentum: Double = 0.99, epsilon: Double = 1e-3,
                movingVarianceUpdate: MovingVarianceUpdate = .besselCorrected, name: String? = nil) {
        self.momentum = Float(momentum)
        self.epsilon = Float(epsilon)
        self.movingVarianceUpdate = movingVarianceUpdate
        self.name = name
    }

    public var ownVariables: [Variable] { [gamma, beta, movingMean, movingVariance].compactMap { $0 } }

    public func build(channels c: Int) {
        gamma = Variable(name: "gamma", shape: [c], trainable: true, initialValue: 1)
        beta = Variable(name: "beta", shape: [c], trainable: true, initialValue: 0)
        movingMean = Variable(name: "moving_mean", shape: [c], trainable: false, initialValue: 0)
        movingVariance = Variable(name: "moving_variance", shape: [c], trainable: false, initialValue: 1)
    }

    public func call(_ inputs: [SymbolicTensor], in graph: GraphBuilder) throws -> SymbolicTensor {
        guard inputs.count == 1, let c = inputs[0].shape.last else {
            throw EngineError.invalidArgument("BatchNormalization expects one input")
        }
        if gamma == nil { build(channels: c) }
        guard gamma!.count == c else {
            throw EngineError.shapeMismatch(what: "BatchNormalization channels", expected: [gamma!.count], got: [c])
        }
        return try graph.apply(self, inputs)
    }

    public func outputShape(for inputs: [[Int]]) throws -> [Int] { inputs[0] }

    public func makeKernel(_ spec: KernelSpec) -> any Kernel { BatchNormKernel(layer: self, spec: spec) }
}

final class BatchNormKernel: Kernel {
    let layer: BatchNormalization
    let c: Int
    let pix: Int           // rows per sample
    let parallel: Parallel
    let mean: UnsafeMutablePointer<Float>
    let invStd: UnsafeMutablePointer<Float>
    let scale: UnsafeMutablePointer<Float>
    let shift: UnsafeMutablePointer<Float>
    let partial: UnsafeMutablePointer<Double>  // [8, 2, c]
    let coef: UnsafeMutablePointer<Float>      // [3, c]
    var lastWasTraining = false

    init(layer: BatchNormalization, spec: KernelSpec) {
        self.layer = layer
        c = spec.outputShape.last!
        pix = product(spec.outputShape) / c
        parallel = spec.parallel
        mean = .allocate(capacity: c); invStd = .allocate(capacity: c)
        scale = .allocate(capacity: c); shift = .allocate(capacity: c)
        partial = .allocate(capacity: 16 * c)
        coef = .allocate(capacity: 3 * c)
    }

    deinit {
        mean.deallocate(); invStd.deallocate(); scale.deallocate(); shift.deallocate(); partial.deallocate(); coef.deallocate()
    }

    /// Per-group sums: partial[g] = (sum a, sum a*b) or (sum x, sum x^2) in Double.
    private func groupSums(batch: Int, _ body: (_ rows: Range<Int>, _ s1: UnsafeMutablePointer<Double>, _ s2: UnsafeMutablePointer<Double>) -> Void) -> Int {
        let groups = reductionGroups(batch)
        let c = self.c, pix = self.pix, partial = self.partial
        parallel.forEachPiece(groups) { gi, _ in
            let imgs = pieceRange(gi, of: groups, count: batch)
            let s1 = partial + gi * 2 * c, s2 = s1 + c
            s1.update(repeating: 0, count: 2 * c)
            body(imgs.lowerBound * pix..<imgs.upperBound * pix, s1, s2)
        }
        for gi in 1..<groups {
            let s = partial + gi * 2 * c
            for j in 0..<(2 * c) { partial[j] += s[j] }
        }
        return groups
    }

    func forward(_ io: NodeIO, batch: Int, mode: ForwardMode) {
        let x = io.inputs[0], y = io.output, c = self.c
        let gamma = layer.gamma!.data, beta = layer.beta!.data
        if case let .training(update) = mode {
            lastWasTraining = true
            _ = groupSums(batch: batch) { rows, s1, s2 in
                for r in rows {
                    let xr = x + r * c
                    for j in 0..<c { let v = Double(xr[j]); s1[j] += v; s2[j] += v * v }
                }
            }
            layer.batchStatistics(sums: partial, count: Double(batch * pix), channels: c, update: update, mean: mean, invStd: invStd)
        } else {
            lastWasTraining = false
            layer.movingStatistics(channels: c, mean: mean, invStd: invStd)
        }
        for j in 0..<c {
            scale[j] = gamma[j] * invStd[j]
            shift[j] = beta[j] - mean[j] * scale[j]
        }
        let sc = scale, sh = shift
        parallel.forEachRange(batch * pix, minChunk: 2048) { rows in
            for r in rows {
                let xr = x + r * c, yr = y + r * c
                for j in 0..<c { yr[j] = xr[j] * sc[j] + sh[j] }
            }
        }
    }

    func backward(_ io: NodeIO, batch: Int) {
        let x = io.inputs[0], dy = io.outputGrad!, c = self.c
        let mean = self.mean, invStd = self.invStd
        _ = groupSums(batch: batch) { rows, s1, s2 in
            for r in rows {
                let xr = x + r * c, dr = dy + r * c
                for j in 0..<c {
                    let d = Double(dr[j])
                    s1[j] += d
                    s2[j] += d * Double((xr[j] - mean[j]) * invStd[j])
                }
            }
        }
        let gGamma = layer.gamma!.grad, gBeta = layer.beta!.grad, gamma = layer.gamma!.data
        let m = Double(batch * pix)
        // dx = gamma*invstd * (dy - [training] (sum dy)/m - xhat * (sum dy*xhat)/m)
        let k = coef, mdy = coef + c, mdyx = coef + 2 * c
        for j in 0..<c {
            gBeta[j] += Float(partial[j])
            gGamma[j] += Float(partial[c + j])
            k[j] = gamma[j] * invStd[j]
            mdy[j] = lastWasTraining ? Float(partial[j] / m) : 0
            mdyx[j] = lastWasTraining ? Float(partial[c + j] / m) : 0
        }
        guard let dx = io.inputGrads[0] else { return }
        let acc = io.accumulate[0]
        parallel.forEachRange(batch * pix, minChunk: 2048) { rows in
            for r in rows {
                let xr = x + r * c, dr = dy + r * c, gr = dx + r * c
                if acc {
                    for j in 0..<c { gr[j] += k[j] * (dr[j] - mdy[j] - (xr[j] - mean[j]) * invStd[j] * mdyx[j]) }
                } else {
                    for j in 0..<c { gr[j] = k[j] * (dr[j] - mdy[j] - (xr[j] - mean[j]) * invStd[j] * mdyx[j]) }
                }
            }
        }
    }
}

extension BatchNormalization {
    /// Training mode: the batch mean and 1/sqrt(biased variance + epsilon) per channel from the sums
    /// `sums[j]` (of x) and `sums[c + j]` (of x²) over `count` values, and — when `update` — the
    /// moving statistics moved towards them (tf-keras: Bessel-corrected variance; Keras 3: biased).
    func batchStatistics(sums: UnsafePointer<Double>, count m: Double, channels c: Int, update: Bool,
                         mean: UnsafeMutablePointer<Float>, invStd: UnsafeMutablePointer<Float>) {
        let mm = movingMean!.data, mv = movingVariance!.data
        let oneMinus = Float(1.0 - Double(momentum))
        for j in 0..<c {
            let mu = sums[j] / m
            let varB = Swift.max(sums[c + j] / m - mu * mu, 0)
            mean[j] = Float(mu)
            invStd[j] = 1 / (Float(varB) + epsilon).squareRoot()
            if update {
                let varU = movingVarianceUpdate == .besselCorrected && m > 1 ? varB * m / (m - 1) : varB
                mm[j] = mm[j] * momentum + Float(mu) * oneMinus
                mv[j] = mv[j] * momentum + Float(varU) * oneMinus
            }
        }
    }

    /// Inference mode: the moving mean and 1/sqrt(moving variance + epsilon) per channel.
    func movingStatistics(channels c: Int, mean: UnsafeMutablePointer<Float>, invStd: UnsafeMutablePointer<Float>) {
        let mm = movingMean!.data, mv = movingVariance!.data
        for j in 0..<c {
            mean[j] = mm[j]
            invStd[j] = 1 / (mv[j] + epsilon).squareRoot()
        }
    }
}
