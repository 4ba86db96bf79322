import DenseNetEngine
import Foundation
import HDF5
import KerasFormat
import TestSupport
import Testing

enum CheckpointFixture {
    static let tfKeras = Fixture.path("keras/tiny_functional_ckpt.h5")
    static let tfKerasReloaded = Fixture.path("keras/tiny_functional_ckpt_reloaded.h5")
    static let keras3 = Fixture.path("keras/tiny_functional_keras3.keras")
    static let io = Fixture.path("keras/tiny_functional_io.h5")
    static let tutorialOptimizer = Fixture.path("keras/tutorial_tfkeras_opt.h5")
    static let tutorialKeras3 = Fixture.path("keras/tutorial_keras3.keras")

    static func array(_ name: String) throws -> [Float] { try File.open(io).root.dataset(name).read(as: Float.self).scalars }
    static func data() throws -> LabeledImages {
        let root = try File.open(io).root
        return try LabeledImages(
            images: root.dataset("inputs").read(as: Float.self).scalars,
            labels: root.dataset("labels").read(as: Int64.self).scalars.map { Int($0) }, sampleShape: [8, 8, 1])
    }
}

/// A trainer of `model` that has taken `steps` steps (mid-epoch when steps is not a multiple).
func trainedTrainer(_ model: Model, data: LabeledImages, batchSize: Int = 8, steps: Int) throws -> Trainer {
    let trainer = try Trainer(model: model, batchSize: batchSize, shuffleSeed: 7)
    var done = 0
    while done < steps {
        _ = try trainer.trainEpoch(data) { _ in
            done += 1
            return done >= steps ? .stop : .continue
        }
    }
    return trainer
}

/// Random-ish images and labels for a model input.
func syntheticData(count: Int, shape: [Int], classes: Int = 10, seed: UInt64 = 1) throws -> LabeledImages {
    var rng = SplitMix64(seed: seed)
    let size = shape.reduce(1, *)
    return try LabeledImages(
        images: (0..<count * size).map { _ in rng.nextUnitFloat() }, labels: (0..<count).map { $0 % classes },
        sampleShape: shape)
}

func runDescription(_ data: LabeledImages, batchSize: Int = 8) -> RunDescription {
    RunDescription(batchSize: batchSize, trainData: DataFingerprint(data))
}

/// The state a loader returned, matched to `model`'s trainable variables by the file's own optimizer.
func trained(_ stored: StoredOptimizer?, _ model: Model) throws -> TrainedOptimizer {
    let stored = try #require(stored)
    return try stored.resolved(for: #require(try stored.configuration()), variables: model.trainableVariables)
}

func fileBytes(_ path: String) throws -> Data { try Data(contentsOf: URL(fileURLWithPath: path)) }

/// Copies `source` to a temporary path and lets `edit` change the copy through HDF5.
func editedCopy(of source: String, name: String, _ edit: (Group) throws -> Void) throws -> String {
    let path = temporaryPath(name)
    try FileManager.default.copyItem(atPath: source, toPath: path)
    try edit(File.open(path, mode: .readWrite).root)
    return path
}

@Suite struct CheckpointTests {
    // MARK: real tf-keras files

    @Test func tfKerasFullModelFileLoadsWithOptimizerState() throws {
        let model = try makeTinyFunctional()
        let optimizer = try trained(TFKerasModelFile.loadWeights(CheckpointFixture.tfKeras, into: model), model)
        #expect(
            maxAbsDifference(try model.predict(CheckpointFixture.array("inputs")), try CheckpointFixture.array("outputs_tfkeras")) <= 1e-5)
        #expect(optimizer.state.iterations == 3)
        #expect(optimizer.config == .adam(AdamConfig(learningRate: Double(Float(0.001)))))
        let kernelM = try File.open(CheckpointFixture.tfKeras).root.dataset("optimizer_weights/Adam/m/dense/kernel:0").read(as: Float.self)
            .scalars
        #expect(optimizer.state["momentum"]?[4] == kernelM)
    }

    @Test func reloadedSlotNamesLoadByOrder() throws {
        // After load_model tf-keras names the slots m/…, v/…: same positions, same meaning.
        let model = try makeTinyFunctional()
        let optimizer = try trained(TFKerasModelFile.loadWeights(CheckpointFixture.tfKerasReloaded, into: model), model)
        #expect(optimizer.state.iterations == 4)
        #expect(
            maxAbsDifference(try model.predict(CheckpointFixture.array("inputs")), try CheckpointFixture.array("outputs_reloaded")) <= 1e-5)
        let v = try File.open(CheckpointFixture.tfKerasReloaded).root.dataset("optimizer_weights/v/bn/beta:0").read(as: Float.self).scalars
        #expect(optimizer.state["velocity"]?[3] == v)
    }

    @Test func functionalModelConfigIsTheOneTfKerasWrites() throws {
        let root = try File.open(CheckpointFixture.tfKeras).root
        let model = try makeTinyFunctional()
        #expect(try ModelConfig.tfKeras(model).description == root.attributes.string("model_config"))
        #expect(ModelConfig.tfKerasTraining(.adam(AdamConfig())).description == (try root.attributes.string("training_config")))
    }

    @Test func subclassedModelConfigIsTheOneTfKerasWrites() throws {
        // tf-keras: model_metadata of the tutorial's subclassed DenseNet (get_config() is {}).
        #expect(try ModelConfig.tfKeras(makeMiniModel()).description == #"{"class_name": "DenseNet", "config": {}}"#)
    }

    @Test func optimizerWeightsMatchTfKerasForTheSubclassedTutorial() throws {
        let model = try makeMiniModel()
        let fixture = try WeightFile(CheckpointFixture.tutorialOptimizer)
        #expect(fixture.format == .tfKerasOptimizer)
        let stored = try #require(try fixture.readOptimizer())
        #expect(stored.className == "Adam" && stored.config == nil)
        // Written from the fixture's own state, the file is structurally the same as tf-keras'.
        let optimizer = try stored.resolved(for: .adam(AdamConfig()), variables: model.trainableVariables)
        #expect(optimizer.state.iterations == 5)
        let path = temporaryPath("opt.h5")
        defer { try? FileManager.default.removeItem(atPath: path) }
        try model.saveWeights(to: path, format: .tfKerasOptimizer, optimizer: optimizer)
        #expect(try fileStructure(path) == fileStructure(CheckpointFixture.tutorialOptimizer))
        let again = try #require(try WeightFile(path).readOptimizer())
        #expect(try again.resolved(for: .adam(AdamConfig()), variables: model.trainableVariables) == optimizer)
    }

    @Test func writtenCheckpointHasTfKerasLayout() throws {
        let model = try makeTinyFunctional()
        try TFKerasModelFile.loadWeights(CheckpointFixture.tfKeras, into: model)
        let data = try CheckpointFixture.data()
        let trainer = try trainedTrainer(model, data: data, steps: 3)
        let path = temporaryPath("ckpt.h5")
        defer { try? FileManager.default.removeItem(atPath: path) }
        try TFKerasModelFile.write(
            trainer, model: ModelDescription(preset: nil, inputShape: [8, 8, 1], classes: 10), run: runDescription(data), to: path)
        func lines(_ file: String, under prefix: String) throws -> [String] { try fileStructure(file).filter { $0.hasPrefix(prefix) } }
        #expect(try lines(path, under: "/optimizer_weights") == lines(CheckpointFixture.tfKeras, under: "/optimizer_weights"))
        let datasets = { (file: String) in try fileStructure(file).filter { $0.hasPrefix("/model_weights/") && $0.contains(" dataset ") } }
        #expect(try datasets(path) == datasets(CheckpointFixture.tfKeras))
        let rootAttributes = { (file: String) in
            try fileStructure(file).filter { $0.hasPrefix("/ @") }.map { $0.components(separatedBy: " [").first! }
        }
        #expect(try rootAttributes(path) == rootAttributes(CheckpointFixture.tfKeras))
        #expect(try File.open(path).root.contains(TFKerasModelFile.trainingStateGroup))
    }

    // MARK: round trips

    @Test(arguments: [3, 5])
    func checkpointRestoresTheTrainerBitForBit(steps: Int) throws {
        let data = try syntheticData(count: 20, shape: [28, 28, 1])
        let trainer = try trainedTrainer(try makeMiniModel(), data: data, steps: steps)
        let path = temporaryPath("ckpt.h5")
        defer { try? FileManager.default.removeItem(atPath: path) }
        let description = ModelDescription(preset: "densenet-mini", inputShape: [28, 28, 1], classes: 10, weightSeed: 3)
        try TFKerasModelFile.write(trainer, model: description, run: runDescription(data), to: path)

        let restored = try Trainer(model: try makeMiniModel(), batchSize: 8)
        let info = try TFKerasModelFile.load(path, into: restored)
        #expect(info.model == description)
        #expect(info.run == runDescription(data))
        #expect(restored.state == trainer.state)
        #expect(weightBits(restored.model) == weightBits(trainer.model))
        #expect(try TFKerasModelFile.readInfo(path) == info)

        // And both continue identically.
        _ = try trainer.trainEpoch(data)
        _ = try restored.trainEpoch(data)
        #expect(weightBits(restored.model) == weightBits(trainer.model))
        #expect(restored.state == trainer.state)
    }

    @Test func infoRecordsTheRun() throws {
        let data = try syntheticData(count: 20, shape: [8, 8, 1])
        let trainer = try trainedTrainer(try makeTinyFunctional(), data: data, steps: 2)
        let path = temporaryPath("ckpt.h5")
        defer { try? FileManager.default.removeItem(atPath: path) }
        let run = RunDescription(batchSize: 8, lossAveraging: .perBatch, trainData: DataFingerprint(data), trainLimit: 20, testLimit: nil)
        try TFKerasModelFile.write(trainer, model: ModelDescription(preset: nil, inputShape: [8, 8, 1], classes: 10), run: run, to: path)
        let info = try TFKerasModelFile.readInfo(path)
        #expect(info.epoch == 0)
        #expect(info.stepInEpoch == 2)
        #expect(info.iterations == 2)
        #expect(info.shuffleSeed == 7)
        #expect(info.run == run)
        #expect(info.metrics == trainer.metrics)
        #expect(info.model.modelConfig != nil)  // functional: the config travels with the file
    }

    // MARK: bad input

    func tutorialCheckpoint() throws -> (path: String, trainer: Trainer) {
        let data = try syntheticData(count: 16, shape: [28, 28, 1])
        let trainer = try trainedTrainer(try makeMiniModel(), data: data, steps: 1)
        let path = temporaryPath("ckpt.h5")
        try TFKerasModelFile.write(
            trainer, model: ModelDescription(preset: "densenet-mini", inputShape: [28, 28, 1], classes: 10),
            run: runDescription(data), to: path)
        return (path, trainer)
    }

    /// Loading must fail with an error mentioning `words`, leave the trainer unchanged and the file untouched.
    func expectRefusal(_ path: String, into trainer: Trainer, mentioning words: [String]) throws {
        let before = trainer.state, bytes = try? fileBytes(path)
        let error = #expect(throws: KerasFormatError.self) { try TFKerasModelFile.load(path, into: trainer) }
        let message = error.map { "\($0)" } ?? ""
        for word in words { #expect(message.contains(word), "\(message)") }
        #expect(trainer.state == before)
        #expect((try? fileBytes(path)) == bytes)
    }

    @Test func refusesAnotherArchitecture() throws {
        let (path, _) = try tutorialCheckpoint()
        defer { try? FileManager.default.removeItem(atPath: path) }
        let other = try Trainer(model: try makeTinyFunctional(), batchSize: 8)
        try expectRefusal(path, into: other, mentioning: ["Functional", "DenseNet"])
        // Same class, other shapes (another input size): refused by the weight checks.
        let bigger = try Trainer(model: try Model(root: DenseNet.mini(), inputShape: [32, 32, 1]), batchSize: 8)
        try expectRefusal(path, into: bigger, mentioning: ["shape mismatch"])
    }

    @Test func refusesTruncatedAndCorruptedFiles() throws {
        let (path, _) = try tutorialCheckpoint()
        defer { try? FileManager.default.removeItem(atPath: path) }
        let bytes = try fileBytes(path)
        let trainer = try Trainer(model: try makeMiniModel(), batchSize: 8)
        for (name, damaged) in [
            ("truncated", bytes.prefix(bytes.count / 2)), ("header", Data(repeating: 0x5A, count: 512) + bytes.dropFirst(512)),
            ("empty", Data())
        ] {
            let copy = temporaryPath("\(name).h5")
            defer { try? FileManager.default.removeItem(atPath: copy) }
            try Data(damaged).write(to: URL(fileURLWithPath: copy))
            try expectRefusal(copy, into: trainer, mentioning: [copy])
        }
        // Damage inside the file's metadata after the superblock (object headers, B-trees): refused
        // with the file named, and loading never half-applies.
        let middle = temporaryPath("middle.h5")
        defer { try? FileManager.default.removeItem(atPath: middle) }
        var flipped = bytes
        for i in stride(from: 600, to: 4000, by: 7) { flipped[i] ^= 0xFF }
        try flipped.write(to: URL(fileURLWithPath: middle))
        try expectRefusal(middle, into: trainer, mentioning: [middle])
    }

    @Test func refusesATrainingConfigThatContradictsTheState() throws {
        let (path, _) = try tutorialCheckpoint()
        defer { try? FileManager.default.removeItem(atPath: path) }
        let sgd = try editedCopy(of: path, name: "sgd.h5") { root in
            let config = try root.attributes.string("training_config").replacingOccurrences(of: "Custom>Adam", with: "Custom>SGD")
            try root.attributes.delete("training_config")
            try root.attributes.write(StringArray(scalar: config, format: .variableASCII), named: "training_config")
        }
        defer { try? FileManager.default.removeItem(atPath: sgd) }
        let trainer = try Trainer(model: try makeMiniModel(), batchSize: 8)
        try expectRefusal(sgd, into: trainer, mentioning: ["SGD", "Adam"])
    }

    @Test func refusesMissingOrInconsistentState() throws {
        let (path, _) = try tutorialCheckpoint()
        defer { try? FileManager.default.removeItem(atPath: path) }
        let trainer = try Trainer(model: try makeMiniModel(), batchSize: 8)
        // A plain Keras model file (no training state) is not a resumable checkpoint.
        let plain = try editedCopy(of: path, name: "plain.h5") { try $0.unlink(TFKerasModelFile.trainingStateGroup) }
        defer { try? FileManager.default.removeItem(atPath: plain) }
        try expectRefusal(plain, into: trainer, mentioning: [TFKerasModelFile.trainingStateGroup])
        // Optimizer slots missing.
        let noSlots = try editedCopy(of: path, name: "noslots.h5") { try $0.unlink("optimizer_weights") }
        defer { try? FileManager.default.removeItem(atPath: noSlots) }
        try expectRefusal(noSlots, into: trainer, mentioning: ["optimizer_weights"])
        // A weights-only file.
        let weights = temporaryPath("w.h5")
        defer { try? FileManager.default.removeItem(atPath: weights) }
        try trainer.model.saveWeights(to: weights, format: .tfKerasWeights)
        try expectRefusal(weights, into: trainer, mentioning: ["model_config"])
    }

    /// Writes densenet-io checkpoints for Fixtures/check_keras_checkpoint.py when
    /// DENSENET_IO_CHECKPOINT_EXPORT names a folder (a plain round trip otherwise).
    @Test func exportForKerasCheck() throws {
        let folder = ProcessInfo.processInfo.environment["DENSENET_IO_CHECKPOINT_EXPORT"]
        let out = { (name: String) in folder.map { "\($0)/\(name)" } ?? temporaryPath(name) }
        let model = try makeTinyFunctional()
        try TFKerasModelFile.loadWeights(CheckpointFixture.tfKeras, into: model)
        let data = try CheckpointFixture.data()
        let trainer = try trainedTrainer(model, data: data, steps: 2)
        let checkpoint = out("densenet_io_tiny_functional.h5"), io = out("densenet_io_tiny_functional_io.h5")
        defer { if folder == nil { [checkpoint, io].forEach { try? FileManager.default.removeItem(atPath: $0) } } }
        try TFKerasModelFile.write(
            trainer, model: ModelDescription(preset: nil, inputShape: [8, 8, 1], classes: 10), run: runDescription(data), to: checkpoint)
        let file = try File.create(io)
        _ = try file.root.createDataset("inputs", NDArray(shape: [data.count, 8, 8, 1], scalars: data.images))
        _ = try file.root.createDataset("outputs", NDArray(shape: [data.count, 10], scalars: try model.predict(data.images)))
        let restored = try Trainer(model: try makeTinyFunctional(seed: 9), batchSize: 8)
        try TFKerasModelFile.load(checkpoint, into: restored)
        #expect(restored.state == trainer.state)
    }

    @Test func weightFilesDetectCheckpointsAndArchivesByContent() throws {
        #expect(try WeightFile(CheckpointFixture.tfKeras).format == .tfKerasModel)
        #expect(try WeightFile(CheckpointFixture.keras3).format == .kerasArchive)
        #expect(WeightFileFormat(fileName: "m.keras") == .kerasArchive)
        let model = try makeMiniModel()
        #expect(try model.loadWeights(from: CheckpointFixture.tutorialKeras3) == .kerasArchive)
        let tiny = try makeTinyFunctional()
        #expect(try tiny.loadWeights(from: CheckpointFixture.tfKeras) == .tfKerasModel)
        #expect(
            maxAbsDifference(try tiny.predict(CheckpointFixture.array("inputs")), try CheckpointFixture.array("outputs_tfkeras")) <= 1e-5)
        // Names that hide the content do not matter.
        let disguised = temporaryPath("archive.h5"), full = temporaryPath("full.weights.h5")
        defer { [disguised, full].forEach { try? FileManager.default.removeItem(atPath: $0) } }
        try model.saveWeights(to: disguised, format: .kerasArchive)
        try tiny.saveWeights(to: full, format: .tfKerasModel)
        #expect(try WeightFile(disguised).format == .kerasArchive)
        #expect(try WeightFile(full).format == .tfKerasModel)
        let again = try makeMiniModel(), tinyAgain = try makeTinyFunctional(seed: 5)
        try again.loadWeights(from: disguised)
        try tinyAgain.loadWeights(from: full)
        #expect(weightBits(again) == weightBits(model))
        #expect(weightBits(tinyAgain) == weightBits(tiny))
    }

    @Test func jsonWritesLikePython() throws {
        #expect(JSON.double(1e-7).description == "1e-07")
        #expect(JSON.double(0.0010000000474974513).description == "0.0010000000474974513")
        #expect(JSON.double(1e16).description == "1e+16")
        #expect(JSON.double(0.99).description == "0.99")
        #expect(JSON.double(0).description == "0.0")
        #expect(
            JSON.object([("a", .array([.null, .int(3)])), ("b", .string("é\"x"))]).description == #"{"a": [null, 3], "b": "\u00e9\"x"}"#)
        let text = #"{"b": [1, 2.5, -3e-07, true, null], "a": {"c": "d\u00e9\n"}}"#
        #expect(try JSON.parse(text).description == #"{"b": [1, 2.5, -3e-07, true, null], "a": {"c": "d\u00e9\n"}}"#)
    }
}
