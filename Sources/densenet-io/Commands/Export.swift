import ArgumentParser
import DenseNetEngine
import KerasFormat

/// `densenet-io export CKPT OUT`: a training checkpoint out to a Keras or PyTorch file.
struct Export: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Export a training checkpoint to a Keras or PyTorch file.",
        discussion: """
            To keras or checkpoint, the whole training state goes along (weights, BatchNorm statistics, Adam); \
            to keras2, keras3 or safetensors, the weights and BatchNorm statistics, checked to read back bit-identical.
            """)

    @Argument(help: "A densenet-io checkpoint (.h5 or .keras).")
    var checkpoint: String

    @Argument(help: "The file to write (replaced atomically).")
    var output: String

    @Option(help: ArgumentHelp("Output format: \(WeightFileFormat.allCases.map(\.name).joined(separator: ", ")).", valueName: "format"))
    var to: String?

    func validate() throws { _ = try outputFormat(named: to, for: output) }

    func run() throws {
        try refuseOverwriting(checkpoint, with: output)
        let format = try outputFormat(named: to, for: output)
        let file = try WeightFile(checkpoint)
        let info = try TrainingCheckpoint.readInfo(file)
        let trainer = try Trainer(
            model: info.model.build(), optimizer: info.optimizer, batchSize: info.run.batchSize,
            shuffleSeed: info.shuffleSeed, lossAveraging: info.run.lossAveraging)
        try TrainingCheckpoint.load(file, into: trainer)
        let model = trainer.model
        switch format {
        case .kerasArchive:
            try KerasArchive.write(trainer, model: info.model, run: info.run, to: output)
        case .tfKerasModel:
            try TFKerasModelFile.write(trainer, model: info.model, run: info.run, to: output)
        case .tfKerasWeights, .keras3Weights, .safetensors:
            let values = try saveVerified(model, to: output, format: format, fresh: info.model.build())
            print(
                "Exported \(checkpoint) (\(info.progress)) to \(output) (\(format.name)): "
                    + "\(model.weights.count) weights, \(grouped(values)) values; read back bit-identical")
            return
        }
        print(
            "Exported \(checkpoint) to \(output) (\(format.name)) with its whole training state: "
                + "\(info.progress), Adam iteration \(trainer.optimizer.iterations)")
    }
}

extension CheckpointInfo {
    /// How far the run got, e.g. "1 epoch and 3 steps trained".
    var progress: String {
        "\(epoch) epoch\(epoch == 1 ? "" : "s") and \(stepInEpoch) step\(stepInEpoch == 1 ? "" : "s") trained"
    }
}
