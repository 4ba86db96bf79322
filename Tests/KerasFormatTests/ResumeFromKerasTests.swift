import DenseNetEngine
import Foundation
import HDF5
import KerasFormat
import TestSupport
import Testing

/// Training runs real tf-keras 2.21 and Keras 3.15 saved after 3 steps (Fixtures/keras/resume,
/// `generate_resume_fixtures.py`), resumed here as `import` resumes them and continued on the same 5
/// batches: every loss within 1e-5 (relative) of Keras' own continuation.
@Suite struct ResumeFromKerasTests {
    static let folder = "keras/resume"
    static let configurations = ["sgd", "sgd_nesterov", "rmsprop_centered", "adam", "adamw"]

    /// Every saved file of the fixtures but Adagrad's, with the optimizer file of a weights+optimizer pair.
    static let savedFiles: [(file: String, optimizerFile: String?)] = configurations.flatMap { name -> [(String, String?)] in
        var files: [(String, String?)] = [("tfkeras_\(name).h5", nil), ("keras3_\(name).keras", nil), ("keras3_\(name).weights.h5", nil)]
        if ["adam", "sgd_nesterov", "rmsprop_centered"].contains(name) {
            files.append(("tfkeras_\(name)_weights.h5", "tfkeras_\(name)_optimizer.h5"))
        }
        return files
    }

    static func path(_ name: String) -> String { Fixture.path("\(folder)/\(name)") }

    /// Batch `index` of `batches.h5` (8 images of 8×8×1 and their labels).
    static func batch(_ index: Int) throws -> (images: [Float], labels: [Int]) {
        let root = try File.open(path("batches.h5")).root
        let images = try root.dataset("images").read(as: Float.self).scalars,
            labels = try root.dataset("labels").read(as: Int64.self).scalars
        let size = 8 * 8 * 8
        return (Array(images[index * size..<(index + 1) * size]), labels[index * 8..<(index + 1) * 8].map { Int($0) })
    }

    /// The optimizer Keras ran, from the fixture's record of `get_config()`: what a user passes as
    /// `--optimizer NAME` and options where a file names no hyperparameters.
    static func recordedConfig(_ group: Group) throws -> OptimizerConfig {
        let description = JSON.object([
            ("class_name", .string(try group.attributes.string("optimizer_class"))),
            ("config", try JSON.parse(group.attributes.string("config")))
        ])
        return try OptimizerConfig(keras: description, file: "continued.h5")
    }

    @Test(arguments: savedFiles.map(\.file))
    func continuesAsKerasDoes(file: String) throws {
        let optimizerFile = Self.savedFiles.first { $0.file == file }?.optimizerFile
        let record = try File.open(Self.path("continued.h5")).root.group(file)
        let input = try WeightFile(Self.path(file))
        let model =
            [.tfKerasModel, .kerasArchive].contains(input.format)
            ? try KerasModelConfig(contentsOf: input).makeModel() : try makeTinyFunctional()
        var stored = try model.loadWeights(from: input)
        if let optimizerFile { stored = try WeightFile(Self.path(optimizerFile)).readOptimizer() }
        let state = try #require(stored)
        let recorded = try Self.recordedConfig(record)
        let config = try #require(try state.configuration(fallback: recorded))
        // A file with its own optimizer description reads back what Keras ran.
        if state.config != nil { #expect(config == recorded) }
        let optimizer = try state.resolved(for: config, variables: model.trainableVariables)
        #expect(optimizer.state.iterations == 3)
        let trainer = try Trainer(model: model, optimizer: config, batchSize: 8)
        try trainer.optimizer.setState(optimizer.state)
        let expected = try record.dataset("losses").read(as: Float.self).scalars
        var losses: [Float] = []
        for step in 3..<8 {
            let (images, labels) = try Self.batch(step)
            losses.append(try trainer.trainStep(images: images, labels: labels))
        }
        for (ours, keras) in zip(losses, expected) {
            #expect(abs(ours - keras) <= 1e-5 * abs(keras), "\(file): \(losses) vs Keras \(expected)")
        }
    }

    @Test(arguments: ["tfkeras_adagrad.h5", "keras3_adagrad.keras", "keras3_adagrad.weights.h5"])
    func anOptimizerTheEngineLacksIsRefusedByName(file: String) throws {
        let input = try WeightFile(Self.path(file))
        let model = try makeTinyFunctional()
        let error = #expect(throws: KerasFormatError.self) {
            let stored = try model.loadWeights(from: input)
            _ = try stored?.resolved(for: .adam(AdamConfig()), variables: model.trainableVariables)
        }
        let message = error.map { "\($0)" } ?? ""
        #expect(message.contains("Adagrad") && message.contains(file), "\(message)")
    }

    @Test func anotherModelsStateIsRefusedNamingTheSlots() throws {
        let stored = try #require(try WeightFile(Self.path("tfkeras_adam_optimizer.h5")).readOptimizer())
        let error = #expect(throws: KerasFormatError.self) {
            try stored.resolved(for: .adam(AdamConfig()), variables: makeMiniModel().trainableVariables)
        }
        #expect(error?.description.contains("12 (another model's or another optimizer's state?)") == true, "\(String(describing: error))")
        let tiny = try makeTinyFunctional()
        let asRMSprop = #expect(throws: KerasFormatError.self) {
            try stored.resolved(for: .rmsprop(RMSpropConfig()), variables: tiny.trainableVariables)
        }
        #expect(asRMSprop?.description.contains("Adam's state") == true)
    }

    @Test func aMissingIterationCounterIsRefused() throws {
        let path = try editedCopy(of: Self.path("tfkeras_adam.h5"), name: "no-iteration.h5") { root in
            try root.group("optimizer_weights").unlink("iteration:0")
        }
        defer { try? FileManager.default.removeItem(atPath: path) }
        let error = #expect(throws: KerasFormatError.self) { try WeightFile(path).readOptimizer() }
        #expect(error?.description.contains("iteration:0") == true, "\(String(describing: error))")
    }

    /// tf-keras' and Keras 3's names for the same state: the same arrays in the same places.
    @Test(arguments: configurations)
    func bothGenerationsHoldTheSameStateInKerasOrder(name: String) throws {
        let model = try makeTinyFunctional()
        let tfKeras = try #require(try WeightFile(Self.path("tfkeras_\(name).h5")).readOptimizer())
        let keras3 = try #require(try WeightFile(Self.path("keras3_\(name).keras")).readOptimizer())
        let config = try #require(try tfKeras.configuration())
        #expect(try keras3.configuration() == config)
        let a = try tfKeras.resolved(for: config, variables: model.trainableVariables).state
        let b = try keras3.resolved(for: config, variables: model.trainableVariables).state
        #expect(a.iterations == b.iterations && a.slots.map(\.name) == b.slots.map(\.name))
        // Two libraries, two runs: the same to float32 noise, not bit for bit.
        for (x, y) in zip(a.slots.flatMap(\.values).joined(), b.slots.flatMap(\.values).joined()) {
            #expect(abs(x - y) <= 1e-5 + 1e-3 * abs(y))
        }
    }

    /// The other way (`Fixtures/check_resume_in_keras.py`): densenet-io trains the tiny model 3 steps
    /// from the fixtures' initial weights, saves each configuration as C.h5 (tf-keras full model) and
    /// C.keras, continues 5 steps and records its losses in C.losses.json; real tf-keras and Keras 3
    /// continue from those files and must get the same losses. DENSENET_IO_RESUME_EXPORT names the
    /// folder for the script; without it the files are checked to read back and removed.
    @Test(arguments: configurations)
    func exportForKerasResumeCheck(name: String) throws {
        let folder = ProcessInfo.processInfo.environment["DENSENET_IO_RESUME_EXPORT"]
        let out = { (file: String) in folder.map { "\($0)/\(file)" } ?? temporaryPath(file) }
        let files = ["\(name).h5", "\(name).keras", "\(name).losses.json"].map(out)
        defer { if folder == nil { files.forEach { try? FileManager.default.removeItem(atPath: $0) } } }
        let config = try Self.recordedConfig(File.open(Self.path("continued.h5")).root.group("tfkeras_\(name).h5"))
        let model = try makeTinyFunctional()
        let initial = try File.open(Self.path("batches.h5")).root.group("initial")
        for (kind, variables) in [("trainable", model.trainableVariables), ("non_trainable", model.weights.filter { !$0.isTrainable })] {
            for (index, variable) in variables.enumerated() {
                try variable.setValues(initial.dataset("\(kind)/\(String(format: "%03d", index))").read(as: Float.self).scalars)
            }
        }
        let trainer = try Trainer(model: model, optimizer: config, batchSize: 8)
        for step in 0..<3 {
            let (images, labels) = try Self.batch(step)
            _ = try trainer.trainStep(images: images, labels: labels)
        }
        let saved = TrainedOptimizer(trainer.optimizer)
        try model.saveWeights(to: files[0], format: .tfKerasModel, optimizer: saved)
        try model.saveWeights(to: files[1], format: .kerasArchive, optimizer: saved)
        var losses: [Double] = []
        for step in 3..<8 {
            let (images, labels) = try Self.batch(step)
            losses.append(Double(try trainer.trainStep(images: images, labels: labels)))
        }
        try JSON.object([("losses", .array(losses.map { .double($0) }))]).description.write(
            toFile: files[2], atomically: true, encoding: .utf8)
        for file in files.prefix(2) {
            let stored = try #require(try WeightFile(file).readOptimizer())
            #expect(try stored.configuration() == config)
            #expect(try stored.resolved(for: config, variables: model.trainableVariables) == saved, "\(file)")
        }
    }

    /// `inspect`'s summary for each kind of file that holds optimizer state.
    @Test func summariesNameClassIterationRateAndSlots() throws {
        func summary(_ name: String) throws -> OptimizerSummary {
            OptimizerSummary(try #require(try WeightFile(Self.path(name)).readOptimizer()))
        }
        let full = try summary("tfkeras_rmsprop_centered.h5")
        #expect(full.className == "RMSprop" && full.iterations == 3 && full.slotArrays == 18)
        #expect(full.slotKinds == ["velocity", "momentum", "average_gradient"] && full.hyperparameters["centered"] == "true")
        #expect(full.line.hasPrefix("RMSprop at iteration 3, learning rate 0.001; 18 slot arrays (velocity, momentum, average_gradient)"))
        let pair = try summary("tfkeras_sgd_nesterov_optimizer.h5")
        #expect(pair.className == "SGD" && pair.hyperparameters.isEmpty && pair.learningRate == nil && pair.slotKinds == ["momentum"])
        let weights = try summary("keras3_adamw.weights.h5")
        #expect(weights.className == "AdamW" && weights.learningRate == Double(Float(0.001)) && weights.slotArrays == 12)
        #expect(weights.location == "optimizer/vars")
    }
}
