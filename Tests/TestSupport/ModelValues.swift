import DenseNetEngine
import HDF5

/// The tutorial model, built for 28×28×1 images.
public func makeMiniModel(_ update: MovingVarianceUpdate = .besselCorrected) throws -> Model {
    try Model(root: DenseNet.mini(movingVarianceUpdate: update), inputShape: [28, 28, 1])
}

/// The tiny functional model of Fixtures/keras/generate_checkpoint_fixtures.py (8×8×1 input, 10 classes):
/// input_1 → conv → bn → relu → concat [input_1, relu] → pool → flatten → dense (softmax).
public func makeTinyFunctional(
    seed: UInt64 = 0, movingVarianceUpdate: MovingVarianceUpdate = .besselCorrected, parallel: Parallel = .automatic()
) throws -> Model {
    let root = FunctionalModel(
        name: "tiny", inputName: "input_1",
        nodes: [
            .init(Conv2D(filters: 4, kernelSize: (3, 3), padding: .same, name: "conv"), ["input_1"]),
            .init(BatchNormalization(movingVarianceUpdate: movingVarianceUpdate, name: "bn"), ["conv"]),
            .init(Activation(.relu, name: "relu"), ["bn"]),
            .init(Concatenate(name: "concat"), ["input_1", "relu"]),
            .init(MaxPooling2D(name: "pool"), ["concat"]),
            .init(Flatten(name: "flatten"), ["pool"]),
            .init(Dense(units: 10, activation: .softmax, name: "dense"), ["flatten"])
        ], outputName: "dense")
    return try Model(root: root, inputShape: [8, 8, 1], seed: seed, parallel: parallel)
}

/// A reference file's `inputs` and `outputs` (as real Keras produced them).
public func readReference(_ path: String) throws -> (inputs: [Float], outputs: [Float]) {
    let file = try File.open(path)
    return (
        try file.root.dataset("inputs").read(as: Float.self).scalars,
        try file.root.dataset("outputs").read(as: Float.self).scalars
    )
}

/// The largest |a[i] − b[i]|: NaN when a difference is NaN and infinity when the counts differ, so
/// that a bound like `<= 1e-5` fails on those too.
public func maxAbsDifference(_ a: [Float], _ b: [Float]) -> Float {
    guard a.count == b.count else { return .infinity }
    var worst: Float = 0
    for (x, y) in zip(a, b) {
        let difference = abs(x - y)
        if difference.isNaN { return .nan }
        worst = Swift.max(worst, difference)
    }
    return worst
}

/// The bit patterns of every variable of a model, for exact comparison.
public func weightBits(_ model: Model) -> [[UInt32]] {
    model.weights.map { $0.values.map(\.bitPattern) }
}

/// `count` values uniform in `range`, from a SplitMix64 seeded with `seed`.
public func randomFloats(_ count: Int, seed: UInt64, range: ClosedRange<Float> = -1...1) -> [Float] {
    var g = SplitMix64(seed: seed)
    return (0..<count).map { _ in range.lowerBound + g.nextUnitFloat() * (range.upperBound - range.lowerBound) }
}

/// Random values whose magnitudes are at least `gap` (keeps relu kinks away from finite-difference steps).
public func awayFromZero(_ count: Int, seed: UInt64, gap: Float = 0.1) -> [Float] {
    randomFloats(count, seed: seed).map { $0 >= 0 ? $0 + gap : $0 - gap }
}

/// Distinct values spaced `gap` apart, shuffled (max-pool windows have clear winners).
public func distinctValues(_ count: Int, seed: UInt64, gap: Float = 0.05) -> [Float] {
    let perm = Trainer.permutation(count: count, seed: seed, epoch: 0)
    return perm.map { Float($0 - count / 2) * gap }
}
