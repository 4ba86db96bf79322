import DenseNetEngine
import Foundation
import HDF5
import KerasFormat
import TestSupport
import Testing

/// Deliberately broken copies of real Keras files: each gives a clear error naming the file, layer
/// and weight, and leaves the model untouched.
@Suite struct BrokenWeightFileTests {
    /// A copy of `fixture`, changed by `damage`, loaded into a fresh tutorial model: the error.
    func loadBrokenCopy(of fixture: String, _ damage: (Group) throws -> Void) throws -> KerasFormatError {
        let path = temporaryPath((fixture as NSString).lastPathComponent)
        defer { try? FileManager.default.removeItem(atPath: path) }
        try FileManager.default.copyItem(atPath: fixture, toPath: path)
        try damage(File.open(path, mode: .readWrite).root)
        let model = try makeMiniModel()
        let before = weightBits(model)
        let error = try #require(throws: KerasFormatError.self) { try model.loadWeights(from: path) }
        #expect(weightBits(model) == before, "nothing is loaded from a broken file")
        #expect(error.description.contains(path))
        return error
    }

    @Test func wrongDataTypeNamesTheWeight() throws {
        let error = try loadBrokenCopy(of: Fixture.tfKerasWeights) { root in
            let name = "dense_net/dense_1/bias:0"
            try root.group("dense_1").unlink(name)
            _ = try root.group("dense_1").createDataset(name, NDArray<Double>(Array(repeating: 0, count: 10)))
        }
        #expect(error.reason == .dataTypeMismatch)
        #expect(error.layer == "dense_1")
        #expect(error.weight == "dense_net/dense_1/bias:0")
        #expect(error.expected == "float32")
        #expect(error.found == "float64")
    }

    @Test func weightCountMismatchListsBothSides() throws {
        let error = try loadBrokenCopy(of: Fixture.tfKerasWeights) { root in
            try root.group("dense_1").attributes.write(
                StringArray(["dense_net/dense_1/kernel:0"], format: .variableASCII),
                named: "weight_names")
        }
        #expect(error.reason == .weightCountMismatch)
        #expect(error.layer == "dense_1")
        #expect(error.expected.hasPrefix("2 weights"))
        #expect(error.found.hasPrefix("1 "))
    }

    @Test func extraLayerInAKeras3FileIsReported() throws {
        let error = try loadBrokenCopy(of: Fixture.keras3Weights) { root in
            // (an empty one, as Keras writes for weightless layers, holds nothing to lose and is accepted)
            _ = try root.createGroup("dense3/vars").createDataset("0", NDArray(scalar: Float(1)))
        }
        #expect(error.reason == .extraLayer)
        #expect(error.layer == "dense3/vars")
    }

    @Test func keras3ShapeMismatchNamesTheVariable() throws {
        let error = try loadBrokenCopy(of: Fixture.keras3Weights) { root in
            try root.group("dense2/vars").unlink("1")
            _ = try root.group("dense2/vars").createDataset("1", NDArray<Float>(Array(repeating: 0, count: 11)))
        }
        #expect(error.reason == .shapeMismatch)
        #expect(error.layer == "dense_1")
        #expect(error.weight == "dense2/vars/1 (bias)")
        #expect(error.expected == "[10]")
        #expect(error.found == "[11]")
    }

    @Test func truncatedFileIsNotAKerasFile() throws {
        let path = temporaryPath("truncated.h5")
        defer { try? FileManager.default.removeItem(atPath: path) }
        let bytes = try Data(contentsOf: URL(fileURLWithPath: Fixture.tfKerasWeights))
        try bytes.prefix(bytes.count / 2).write(to: URL(fileURLWithPath: path))
        let error = try #require(throws: (any Error).self) { try makeMiniModel().loadWeights(from: path) }
        #expect("\(error)".contains(path))
    }
}
