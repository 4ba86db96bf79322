import DenseNetEngine
import Foundation
import HDF5
import KerasFormat
import TestSupport
import Testing

@Suite struct Keras3WeightsFormatTests {
    func load(_ path: String, into model: Model) throws {
        let layout = Keras3WeightLayout(tree: NamedLayerTree(model: model.root))
        try Keras3WeightsFormat.load(layout, from: File.open(path).root, file: path)
    }

    func save(_ model: Model, to path: String) throws {
        let layout = Keras3WeightLayout(tree: NamedLayerTree(model: model.root))
        try writeAtomically(to: path) { try Keras3WeightsFormat.write(layout, to: File.create($0).root) }
    }

    @Test func keras3FileReproducesKerasPredictions() throws {
        let model = try makeMiniModel(.biased)
        try load(Fixture.keras3Weights, into: model)
        let reference = try readReference(Fixture.keras3Reference)
        #expect(maxAbsDifference(try model.predict(reference.inputs), reference.outputs) <= 1e-5)
    }

    @Test func writtenFileIsStructurallyIdenticalToKeras3() throws {
        let model = try makeMiniModel()
        try load(Fixture.keras3Weights, into: model)
        let path = temporaryPath("w.weights.h5")
        defer { try? FileManager.default.removeItem(atPath: path) }
        try save(model, to: path)
        #expect(try fileStructure(path) == fileStructure(Fixture.keras3Weights))
    }

    @Test func crossFormatRoundTripIsBitExact() throws {
        let model = try makeMiniModel()
        try TFKerasWeightsFormat.load(
            TFKerasWeightLayout(tree: NamedLayerTree(model: model.root)),
            from: File.open(Fixture.tfKerasWeights).root, file: Fixture.tfKerasWeights)
        let keras3 = temporaryPath("w.weights.h5")
        defer { try? FileManager.default.removeItem(atPath: keras3) }
        try save(model, to: keras3)
        let reloaded = try makeMiniModel()
        try load(keras3, into: reloaded)
        #expect(weightBits(reloaded) == weightBits(model))
    }

    @Test func missingVarsGroupNamesTheLayer() throws {
        let path = temporaryPath("broken.weights.h5")
        defer { try? FileManager.default.removeItem(atPath: path) }
        let model = try makeMiniModel()
        try save(model, to: path)
        try File.withOpen(path, mode: .readWrite) { file in
            try file.root.group("dense2").unlink("vars")
        }
        let error = try #require(throws: KerasFormatError.self) { try load(path, into: try makeMiniModel()) }
        #expect(error.reason == .missingLayer)
        #expect(error.layer == "dense_1")
    }
}
