import DenseNetEngine
import Foundation
import HDF5

/// The tutorial model, built for 28×28×1 images.
func makeMiniModel(_ update: MovingVarianceUpdate = .besselCorrected) throws -> Model {
    try Model(root: DenseNet.mini(movingVarianceUpdate: update), inputShape: [28, 28, 1])
}

/// A reference file's `inputs` and `outputs` (as real Keras produced them).
func readReference(_ path: String) throws -> (inputs: [Float], outputs: [Float]) {
    let file = try File.open(path)
    return (try file.root.dataset("inputs").read(as: Float.self).scalars,
            try file.root.dataset("outputs").read(as: Float.self).scalars)
}

func maxAbsDifference(_ a: [Float], _ b: [Float]) -> Float {
    zip(a, b).map { abs($0 - $1) }.max() ?? 0
}

/// A unique path in the temporary folder, removed by `cleanUp`.
func temporaryPath(_ name: String) -> String {
    FileManager.default.temporaryDirectory.appendingPathComponent("densenet-io-tests-\(UUID().uuidString)-\(name)").path
}

/// The bit patterns of every variable of a model, for exact comparison.
func weightBits(_ model: Model) -> [[UInt32]] {
    model.weights.map { $0.values.map(\.bitPattern) }
}
