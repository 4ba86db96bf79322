import DenseNetEngine
import Foundation
import HDF5
import KerasFormat
import TestSupport
import Testing

/// Writes DenseNet weight files with densenet-io for `Fixtures/check_keras_densenet.py`, which loads
/// them in real tf-keras and Keras 3 and compares the predictions with ours. Runs only when
/// DENSENET_IO_EXPORT_DIR names a folder:
///
///     DENSENET_IO_EXPORT_DIR=/tmp/densenet-export swift test --filter ConfigExportTests
///     python Fixtures/check_keras_densenet.py /tmp/densenet-export
///
/// For each fixture model (the small DenseNet, and DenseNet-121 when generated), both flavors: the
/// model is built from the Keras file's config, loaded with its weights, trained one Adam step here
/// (so the weights exist in no Keras file), then written as `<name>.h5` (tf-keras layout) and
/// `<name>.weights.h5` (Keras 3 layout), with `<name>_io.h5` holding `inputs` and our `outputs`.
@Suite struct ConfigExportTests {
    static let folder = ProcessInfo.processInfo.environment["DENSENET_IO_EXPORT_DIR"]

    @Test(.enabled(if: folder != nil, "set DENSENET_IO_EXPORT_DIR to write files for Fixtures/check_keras_densenet.py"))
    func exportForKeras() throws {
        let folder = try #require(Self.folder)
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        var fixtures: [(String, DenseNetFixture)] = KerasFlavor.allCases.map { flavor in
            ("densenet_small_\(flavor.rawValue)", DenseNetFixture.small(flavor))
        }
        fixtures += KerasFlavor.allCases.map { ("densenet121_\($0.rawValue)", DenseNetFixture.densenet121($0)) }
        for (name, fixture) in fixtures where fixture.isPresent {
            let model = try fixture.loadedModel()
            let reference = try fixture.reference()
            let trainer = try Trainer(model: model, batchSize: reference.labels.count)
            try trainer.trainStep(images: reference.inputs, labels: reference.labels)
            let base = URL(fileURLWithPath: folder).appendingPathComponent(name).path
            try model.saveWeights(to: base + ".h5", format: .tfKerasWeights)
            try model.saveWeights(to: base + ".weights.h5", format: .keras3Weights)
            let outputs = try model.predict(reference.inputs, batchSize: reference.labels.count)
            try? FileManager.default.removeItem(atPath: base + "_io.h5")
            let io = try File.create(base + "_io.h5")
            _ = try io.root.createDataset("inputs", NDArray(shape: [reference.labels.count, 64, 64, 3], scalars: reference.inputs))
            _ = try io.root.createDataset("outputs", NDArray(shape: [reference.labels.count, model.outputSize], scalars: outputs))
            print("exported \(base).h5, \(base).weights.h5, \(base)_io.h5")
        }
    }
}
