import DenseNetEngine
import Foundation
import HDF5
import KerasFormat
import TestSupport
import Testing
import ZIPFoundation

/// The entries of a zip archive, and each HDF5 entry extracted to a temporary file.
func archiveEntries(_ path: String) throws -> [(name: String, data: Data)] {
    let archive = try Archive(url: URL(fileURLWithPath: path), accessMode: .read)
    return try archive.map { entry in
        var data = Data()
        _ = try archive.extract(entry) { data.append($0) }
        return (entry.path, data)
    }
}

func extractedStructure(_ archive: String, entry: String) throws -> [String] {
    let data = try #require(try archiveEntries(archive).first { $0.name == entry }?.data)
    let path = temporaryPath(entry)
    defer { try? FileManager.default.removeItem(atPath: path) }
    try data.write(to: URL(fileURLWithPath: path))
    return try fileStructure(path)
}

@Suite struct KerasArchiveTests {
    @Test func readsKeras3TutorialArchive() throws {
        let model = try makeMiniModel(.biased)
        let optimizer = try trained(KerasArchive.loadWeights(CheckpointFixture.tutorialKeras3, into: model), model)
        #expect(optimizer.state.iterations == 5)
        #expect(optimizer.config.learningRate == Double(Float(0.001)))
        let reference = try readReference(Fixture.keras3Reference)
        #expect(maxAbsDifference(try model.predict(reference.inputs), reference.outputs) <= 1e-5)
    }

    @Test func readsKeras3FunctionalOptimizerState() throws {
        // Keras 3's optimizer/vars for the functional model: iterations, learning rate, then m, v
        // per trainable variable in the model's order.
        let data = try #require(try archiveEntries(CheckpointFixture.keras3).first { $0.name == "model.weights.h5" }?.data)
        let path = temporaryPath("model.weights.h5")
        defer { try? FileManager.default.removeItem(atPath: path) }
        try data.write(to: URL(fileURLWithPath: path))
        let model = try makeTinyFunctional()
        let root = try File.open(path).root
        let stored = try #require(try WeightFile(path).readOptimizer())
        #expect(stored.className == "Adam" && stored.learningRate == 0.001)
        let read = try stored.resolved(for: .adam(AdamConfig()), variables: model.trainableVariables)
        #expect(read.state.iterations == 3)
        #expect(read.state["velocity"]?[5] == (try root.dataset("optimizer/vars/13").read(as: Float.self).scalars))  // dense bias v
        #expect(read.state["momentum"]?[0] == (try root.dataset("optimizer/vars/2").read(as: Float.self).scalars))  // conv kernel m
    }

    @Test func writtenArchiveHasKeras3Layout() throws {
        let model = try makeMiniModel()
        let optimizer = try trained(KerasArchive.loadWeights(CheckpointFixture.tutorialKeras3, into: model), model)
        let path = temporaryPath("m.keras")
        defer { try? FileManager.default.removeItem(atPath: path) }
        try KerasArchive.write(model, optimizer: optimizer, to: path)

        let mine = try archiveEntries(path), keras = try archiveEntries(CheckpointFixture.tutorialKeras3)
        #expect(mine.map(\.name) == keras.map(\.name))
        #expect(try fileBytes(path).prefix(4) == Data([0x50, 0x4B, 0x03, 0x04]))
        let metadata = try JSON.parse(String(decoding: mine[0].data, as: UTF8.self))
        #expect(metadata["keras_version"] == .string("3.15.1"))
        let config = try JSON.parse(String(decoding: mine[1].data, as: UTF8.self))
        let kerasConfig = try JSON.parse(String(decoding: keras[1].data, as: UTF8.self))
        for key in ["class_name", "config", "registered_name"] { #expect(config[key] == kerasConfig[key], "\(key)") }
        #expect(config["compile_config"]?["optimizer"] == kerasConfig["compile_config"]?["optimizer"])
        #expect(config["compile_config"]?["loss"] == kerasConfig["compile_config"]?["loss"])
        #expect(
            try extractedStructure(path, entry: "model.weights.h5")
                == extractedStructure(CheckpointFixture.tutorialKeras3, entry: "model.weights.h5"))

        let again = try makeMiniModel()
        let reread = try trained(KerasArchive.loadWeights(path, into: again), again)
        #expect(weightBits(again) == weightBits(model))
        #expect(reread == optimizer)
    }

    @Test(arguments: [2, 4])
    func archiveCheckpointRestoresTheTrainerBitForBit(steps: Int) throws {
        let data = try syntheticData(count: 20, shape: [28, 28, 1])
        let trainer = try trainedTrainer(try makeMiniModel(), data: data, steps: steps)
        let path = temporaryPath("ckpt.keras")
        defer { try? FileManager.default.removeItem(atPath: path) }
        let description = ModelDescription(preset: "densenet-mini", inputShape: [28, 28, 1], classes: 10)
        try KerasArchive.write(trainer, model: description, run: runDescription(data), to: path)
        #expect(
            try archiveEntries(path).map(\.name) == ["metadata.json", "config.json", "model.weights.h5", "densenet_io_training_state.h5"])

        let restored = try Trainer(model: try makeMiniModel(), batchSize: 8)
        let info = try KerasArchive.load(path, into: restored)
        #expect(info.model == description)
        #expect(restored.state == trainer.state)
        #expect(try KerasArchive.readInfo(path) == info)
        _ = try trainer.trainEpoch(data)
        _ = try restored.trainEpoch(data)
        #expect(restored.state == trainer.state)
    }

    @Test func refusesDamagedArchivesAndOtherModels() throws {
        let data = try syntheticData(count: 16, shape: [28, 28, 1])
        let trainer = try trainedTrainer(try makeMiniModel(), data: data, steps: 1)
        let path = temporaryPath("ckpt.keras")
        defer { try? FileManager.default.removeItem(atPath: path) }
        try KerasArchive.write(
            trainer, model: ModelDescription(preset: "densenet-mini", inputShape: [28, 28, 1], classes: 10),
            run: runDescription(data), to: path)
        let bytes = try fileBytes(path)
        let fresh = try Trainer(model: try makeMiniModel(), batchSize: 8)
        let before = fresh.state
        for (name, damaged) in [("truncated", bytes.prefix(bytes.count * 2 / 3)), ("tail", bytes.prefix(bytes.count - 30))] {
            let copy = temporaryPath("\(name).keras")
            defer { try? FileManager.default.removeItem(atPath: copy) }
            try Data(damaged).write(to: URL(fileURLWithPath: copy))
            #expect(throws: KerasFormatError.self) { try KerasArchive.load(copy, into: fresh) }
            #expect(fresh.state == before)
        }
        let other = try Trainer(model: try makeTinyFunctional(), batchSize: 8)
        let error = #expect(throws: KerasFormatError.self) { try KerasArchive.load(path, into: other) }
        #expect("\(error.map { "\($0)" } ?? "")".contains("DenseNet"))
        // A plain Keras archive is not a training checkpoint.
        #expect(throws: KerasFormatError.self) { try KerasArchive.load(CheckpointFixture.tutorialKeras3, into: fresh) }
        #expect(fresh.state == before)
    }
}
