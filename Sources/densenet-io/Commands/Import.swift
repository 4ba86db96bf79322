import ArgumentParser
import Datasets
import DenseNetEngine
import KerasFormat

/// `densenet-io import FILE CKPT`: a Keras or PyTorch file in to a checkpoint `train --resume` continues.
struct Import: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Turn a Keras or PyTorch weight file into a training checkpoint that `train --resume` continues.",
        discussion: """
            The model is built from the file's own config when it has one (tf-keras full-model files, .keras \
            archives), else from --model. The optimizer's state comes along wherever the file holds it (tf-keras \
            full-model files, Keras 3 .weights.h5 of a compiled model, .keras archives) or from --optimizer FILE \
            (the optimizer .h5 tf-keras users of a subclassed model save beside save_weights); its class and \
            hyperparameters come from the file, else from --optimizer NAME and its options. Otherwise training \
            resumes with a fresh optimizer, as the output says. The checkpoint records the training data it is \
            meant for, as `train` does.
            """)

    @Argument(help: "A weight file of any known format.", completion: .file())
    var file: String

    @Argument(help: "The checkpoint to write (.h5: tf-keras full-model file, .keras: Keras 3 archive).", completion: .file())
    var checkpoint: String

    @OptionGroup var modelOptions: ModelOptions

    @OptionGroup(title: "Optimizer") var optimizerOptions: OptimizerOptions

    @Option(help: "A folder with the four MNIST-format IDX files the run will train on.", completion: .directory)
    var data = MNISTFolder.defaultPath

    @Option(help: "The run will train on the first N training images only.")
    var limit: Int?

    @Option(help: "Samples per training step of the run.")
    var batchSize = 32

    @Option(help: "Seeds each epoch's shuffle of the run.")
    var seed: UInt64 = 0

    func validate() throws {
        guard batchSize >= 1 else { throw ValidationError("--batch-size must be at least 1") }
        if let limit, limit < 1 { throw ValidationError("--limit must be at least 1") }
        guard [.kerasArchive, .tfKerasWeights].contains(WeightFileFormat(fileName: checkpoint)) else {
            throw ValidationError("the checkpoint needs a .h5 or .keras file name, got \(checkpoint)")
        }
        try checkOutputFolder(checkpoint)
    }

    func run() throws {
        try refuseOverwriting(file, with: checkpoint)
        if case let .file(path) = optimizerOptions.optimizer { try refuseOverwriting(path, with: checkpoint) }
        let input = try WeightFile(file)
        let (model, name) = try modelOptions.build(for: input, seed: seed)
        var stored = try loadWeights(from: input, into: model, named: name)
        var source = file
        if case let .file(path) = optimizerOptions.optimizer {
            guard let state = try WeightFile(path).readOptimizer() else {
                throw ValidationError("--optimizer \(path) holds no optimizer state")
            }
            (stored, source) = (state, path)
        }
        let fileConfig = try stored?.configuration()
        let config = try fileConfig.map(optimizerOptions.applied) ?? optimizerOptions.config()
        let trained = try stored?.resolved(for: config, variables: model.trainableVariables)
        let train = try MNISTFolder(data).load(.train, limit: limit)
        let trainer = try Trainer(model: model, optimizer: config, batchSize: batchSize, shuffleSeed: seed)
        if let trained { try trainer.optimizer.setState(trained.state) }
        let description = ModelDescription(
            preset: model.root is FunctionalModel ? nil : modelOptions.model,
            inputShape: model.inputShape, classes: model.outputShape.last ?? 0, weightSeed: seed)
        let run = RunDescription(batchSize: batchSize, trainData: DataFingerprint(train), trainLimit: limit)
        try TrainingCheckpoint.write(trainer, model: description, run: run, to: checkpoint)
        let origin = fileConfig == nil ? "Keras' defaults; \(source) does not record its hyperparameters" : "as \(source) records it"
        let state =
            trained.map { "\(config.kerasClassName) state restored (iteration \($0.state.iterations), from \(source); \(origin))" }
            ?? "fresh \(config.kerasClassName) state (\(file) holds weights only: \(input.format.description); "
            + "a tf-keras optimizer file goes in with --optimizer FILE)"
        print(
            "Imported \(file) (\(input.format.name)) into \(checkpoint) as \(name): \(state); "
                + "continue with: densenet-io train --resume \(checkpoint) --epochs N")
    }
}
