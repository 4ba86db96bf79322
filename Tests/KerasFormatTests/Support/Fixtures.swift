import DenseNetEngine
import Foundation
import HDF5

/// Files under the repository's Fixtures/ folder, written by real Keras.
enum Fixture {
    static let folder = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("Fixtures")

    static func path(_ relative: String) -> String { folder.appendingPathComponent(relative).path }

    static let tfKerasWeights = path("keras/tutorial_tfkeras.h5")
    static let tfKerasReference = path("keras/tutorial_tfkeras_io.h5")
    static let keras3Weights = path("keras/tutorial_keras3.weights.h5")
    static let keras3Reference = path("keras/tutorial_keras3_io.h5")
}

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
