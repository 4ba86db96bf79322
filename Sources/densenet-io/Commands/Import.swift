import ArgumentParser
import Datasets
import DenseNetEngine
import KerasFormat

/// `densenet-io import FILE CKPT`: a Keras or PyTorch file in to a checkpoint `train --resume` continues.
struct Import: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Turn a Keras or PyTorch weight file into a training checkpoint that `train --resume` continues.",
        discussion: """
            Adam's state comes along when the file holds it (tf-keras full-model files, .keras archives of a \
            compiled model); otherwise training resumes with a fresh optimizer, as the output says. The checkpoint \
            records the training data it is meant for, as `train` does.
            """)

    @Argument(help: "A weight file of any known format.")
    var file: String

    @Argument(help: "The checkpoint to write (.h5: tf-keras full-model file, .keras: Keras 3 archive).")
    var checkpoint: String

    @OptionGroup var modelOptions: ModelOptions

    @Option(help: "A folder with the four MNIST-format IDX files the run will train on.")
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
    }

    func run() throws {
        try refuseOverwriting(file, with: checkpoint)
        let model = try modelOptions.build(seed: seed)
        let input = try WeightFile(file)
        let optimizer = try model.loadWeights(from: input)
        let train = try MNISTFolder(data).load(.train, limit: limit).engineImages()
        let trainer = try Trainer(model: model, optimizer: optimizer?.config ?? AdamConfig(), batchSize: batchSize, shuffleSeed: seed)
        if let optimizer { try trainer.optimizer.setState(optimizer.state) }
        let description = ModelDescription(
            preset: modelOptions.model, inputShape: model.inputShape,
            classes: model.outputShape.last ?? 0, weightSeed: seed)
        let run = RunDescription(batchSize: batchSize, trainData: DataFingerprint(train), trainLimit: limit)
        try TrainingCheckpoint.write(trainer, model: description, run: run, to: checkpoint)
        let state =
            optimizer.map { "Adam state restored (iteration \($0.state.iterations))" }
            ?? "fresh Adam state (\(file) holds no optimizer state)"
        print(
            "Imported \(file) (\(input.format.name)) into \(checkpoint) as \(modelOptions.model): \(state); "
                + "continue with: densenet-io train --resume \(checkpoint) --epochs N")
    }
}
