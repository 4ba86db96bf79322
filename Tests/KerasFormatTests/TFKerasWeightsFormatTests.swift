import DenseNetEngine
import Foundation
@testable import HDF5
import KerasFormat
import TestSupport
import Testing

@Suite struct TFKerasWeightsFormatTests {
    func load(_ path: String, into model: Model, byName: Bool = false) throws {
        let layout = TFKerasWeightLayout(tree: NamedLayerTree(model: model.root))
        try TFKerasWeightsFormat.load(layout, from: File.open(path).root, file: path, byName: byName)
    }

    func save(_ model: Model, to path: String) throws {
        let layout = TFKerasWeightLayout(tree: NamedLayerTree(model: model.root))
        try writeAtomically(to: path) { try TFKerasWeightsFormat.write(layout, to: File.create($0).root) }
    }

    @Test(arguments: [false, true])
    func tfKerasFileReproducesKerasPredictions(byName: Bool) throws {
        let model = try makeMiniModel()
        try load(Fixture.tfKerasWeights, into: model, byName: byName)
        let reference = try readReference(Fixture.tfKerasReference)
        let outputs = try model.predict(reference.inputs)
        #expect(maxAbsDifference(outputs, reference.outputs) <= 1e-5)
    }

    @Test func writtenFileIsStructurallyIdenticalToTfKeras() throws {
        let model = try makeMiniModel()
        try load(Fixture.tfKerasWeights, into: model)
        let path = temporaryPath("w.h5")
        defer { try? FileManager.default.removeItem(atPath: path) }
        try save(model, to: path)
        #expect(try fileStructure(path) == fileStructure(Fixture.tfKerasWeights))
    }

    @Test func roundTripIsBitExact() throws {
        let model = try makeMiniModel()
        try load(Fixture.tfKerasWeights, into: model)
        let path = temporaryPath("w.h5")
        defer { try? FileManager.default.removeItem(atPath: path) }
        try save(model, to: path)
        let reloaded = try makeMiniModel()
        try load(path, into: reloaded)
        #expect(weightBits(reloaded) == weightBits(model))
    }

    /// `loadWeights` (the file read into memory, the weights copied on all cores) sets every variable
    /// to exactly the values libhdf5 reads from its dataset; the models' layer names are the files'.
    func expectLoadedVariablesEqualDatasets(_ model: Model, _ path: String) throws {
        let before = weightBits(model)
        try model.loadWeights(from: path)
        #expect(weightBits(model) != before, "the values change")
        let root = try File.open(path).root
        var compared = 0
        for layer in TFKerasWeightLayout(tree: NamedLayerTree(model: model.root)).layers where !layer.weights.isEmpty {
            let group = try root.group(layer.name)
            for (weight, name) in zip(layer.weights, try group.attributes.stringArray("weight_names")) {
                let stored = try group.dataset(name).read(as: Float.self).scalars
                #expect(weight.variable.values.map(\.bitPattern) == stored.map(\.bitPattern), "\(layer.name): \(name)")
                compared += 1
            }
        }
        #expect(compared == model.weights.count)
    }

    @Test func loadedVariablesEqualTheFilesDatasets() throws {
        try expectLoadedVariablesEqualDatasets(makeMiniModel(), Fixture.tfKerasWeights)
    }

    @Test(.enabled(if: DenseNetFixture.densenet121(.tfKeras).isPresent, Comment(rawValue: DenseNet121Tests.skipMessage)))
    func loadedDenseNet121VariablesEqualTheFilesDatasets() throws {
        let model = try Model(
            root: DenseNetApplication.densenet121(inputShape: [64, 64, 3], classes: 10, flavor: .tfKeras),
            inputShape: [64, 64, 3])
        try expectLoadedVariablesEqualDatasets(model, DenseNetFixture.densenet121(.tfKeras).weightsFile)
    }

    /// A layer group the file's bytes cannot answer (one that tracks creation order: new-style links)
    /// is read through libhdf5 while the other layers are checked from the bytes on all cores.
    @Test func layersTheBytesCannotAnswerAreReadThroughLibhdf5() throws {
        let source = try makeMiniModel()
        try load(Fixture.tfKerasWeights, into: source)
        let path = temporaryPath("mixed.h5")
        defer { try? FileManager.default.removeItem(atPath: path) }
        try save(source, to: path)
        let layers = TFKerasWeightLayout(tree: NamedLayerTree(model: source.root)).layers.filter { !$0.weights.isEmpty }
        let rewritten = layers[layers.count / 2]
        try File.withOpen(path, mode: .readWrite) { file throws in
            try file.root.unlink(rewritten.name)
            let group = try file.root.createGroup(rewritten.name, tracksCreationOrder: true)
            try group.attributes.write(StringArray(rewritten.weights.map(\.name), format: .variableASCII), named: "weight_names")
            for weight in rewritten.weights {
                _ = try group.createDataset(weight.name, NDArray(shape: weight.variable.shape, scalars: weight.variable.values))
            }
        }
        try File.withOpen(path) { file throws in
            try file.mapIntoMemory()
            #expect(file.root.stored?.group(rewritten.name) == nil)
            #expect(file.root.stored?.group(layers[0].name) != nil)
        }
        try expectLoadedVariablesEqualDatasets(makeMiniModel(), path)
    }

    @Test func layerCountMismatchNamesBothSides() throws {
        let model = try Model(
            root: DenseNet(
                conv1: Conv2D(filters: 8, kernelSize: (3, 3), padding: .same),
                denseLayers: [DenseLayer(units: 2, growthRate: 4)], transitions: [],
                heads: [Dense(units: 10, activation: .softmax)]),
            inputShape: [28, 28, 1])
        let error = try #require(throws: KerasFormatError.self) { try load(Fixture.tfKerasWeights, into: model) }
        #expect(error.reason == .layerCountMismatch)
        #expect(error.description.contains("tutorial_tfkeras.h5"))
    }

    @Test func shapeMismatchNamesLayerAndWeight() throws {
        let other = try Model(
            root: DenseNet(
                conv1: Conv2D(filters: 8, kernelSize: (3, 3), padding: .same, activation: .relu),
                denseLayers: [
                    DenseLayer(units: 2, growthRate: 4), DenseLayer(units: 2, growthRate: 8), DenseLayer(units: 2, growthRate: 16)
                ],
                transitions: [TransitionLayer(filters: 16), TransitionLayer(filters: 32)],
                heads: [Dense(units: 64, activation: .relu), Dense(units: 10, activation: .softmax)]), inputShape: [28, 28, 1])
        let before = weightBits(other)
        let error = try #require(throws: KerasFormatError.self) { try load(Fixture.tfKerasWeights, into: other) }
        #expect(error.reason == .shapeMismatch)
        #expect(error.layer == "dense")
        #expect(error.weight == "dense_net/dense/kernel:0")
        #expect(error.expected == "[3136, 64]")
        #expect(error.found == "[3136, 128]")
        #expect(weightBits(other) == before, "nothing is loaded when any weight does not fit")
    }

    @Test func nonKerasFileIsRejected() throws {
        let path = temporaryPath("plain.h5")
        defer { try? FileManager.default.removeItem(atPath: path) }
        try File.withCreate(path) { _ = try $0.root.createDataset("x", NDArray<Float>([1, 2])) }
        let error = try #require(throws: KerasFormatError.self) { try load(path, into: try makeMiniModel()) }
        #expect(error.reason == .wrongFormat)
    }

    @Test func failedWriteLeavesExistingFileUntouched() throws {
        let path = temporaryPath("keep.h5")
        defer { try? FileManager.default.removeItem(atPath: path) }
        try Data("previous".utf8).write(to: URL(fileURLWithPath: path))
        struct Interrupted: Error {}
        #expect(throws: Interrupted.self) {
            try writeAtomically(to: path) { temporary in
                _ = try File.create(temporary)
                throw Interrupted()
            }
        }
        #expect(try String(contentsOfFile: path, encoding: .utf8) == "previous")
        let leftovers = try FileManager.default.contentsOfDirectory(atPath: (path as NSString).deletingLastPathComponent)
            .filter { $0.hasPrefix(".\((path as NSString).lastPathComponent)") }
        #expect(leftovers.isEmpty)
    }
}
